"""What a fetch may reach: the pure checks of the fetch guard (the fetcher does the I/O).

A URL that came from outside the operator's config (an item link, a redirect
hop) must be http or https, carry no user name or password, and every address
its host resolves to must be public: no loopback, private, link-local, shared
(CGNAT), multicast, unspecified or reserved address, also not wrapped in an
IPv6 form (IPv4-mapped, 6to4, NAT64). ``fetch.allowed_hosts`` lists the
``host`` or ``host:port`` entries exempt from the address check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: settings (imported by parse workers) imports this module
    import httpx

__all__ = [
    "ALLOW_HINT",
    "AllowedHosts",
    "address_refusal",
    "host_and_port",
    "parse_allowed_host",
    "url_refusal",
]

ALLOW_HINT = "list the host in fetch.allowed_hosts to allow it"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # CGNAT; ``ipaddress`` has no predicate for it
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address in its low 32 bits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def url_refusal(url: httpx.URL) -> str | None:
    """Why ``url`` may not be fetched whatever its address, or None."""
    if url.scheme not in _DEFAULT_PORTS:
        return "only http and https URLs are fetched"
    if url.userinfo:
        return "the URL carries a user name or password"
    if not url.raw_host:
        return "the URL has no host"
    return None


def host_and_port(url: httpx.URL) -> tuple[str, int]:
    """The host (as httpx connects to it: ASCII, no brackets) and port of an http(s) URL."""
    return url.raw_host.decode("ascii").lower(), url.port or _DEFAULT_PORTS[url.scheme]


def address_refusal(address: str) -> str | None:
    """Why connecting to the IP ``address`` is refused ("... is a loopback address"), or None."""
    ip = ipaddress.ip_address(address)
    kind = _kind(_unwrapped(ip))
    return None if kind is None else f"{address} is {kind}"


def _unwrapped(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else ``ip`` itself."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _kind(ip: IPAddress) -> str | None:
    """The kind of non-public address ``ip`` is, or None when it is public."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED:
        return "a shared (CGNAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:  # documentation, benchmarking, ... ranges
        return "not a public address"
    return None


def parse_allowed_host(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as (lower-case host, port or None).

    Raises ValueError for anything else.
    """
    text = entry.strip().lower()
    host, port = text, ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"bad allowed host {entry!r}")
        port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or any(c in host for c in "/@[] ") or (port and not port.isdigit()):
        raise ValueError(f"bad allowed host {entry!r}: expected host or host:port")
    if port and not 0 < int(port) < 65536:
        raise ValueError(f"bad allowed host {entry!r}: port out of range")
    return host, int(port) if port else None


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """The hosts exempt from the address check: a bare host on any port, else that port only."""

    entries: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedHosts:
        return cls(frozenset(parse_allowed_host(entry) for entry in entries))

    def allows(self, host: str, port: int) -> bool:
        host = host.lower()
        return (host, None) in self.entries or (host, port) in self.entries
