"""Canonical article URLs: one story, one URL, whatever tracking or AMP wrapper it came in."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "oly_", "__hs", "_hs", "vero_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
        "_ga", "_gl", "cmpid", "ito", "ncid", "sr_share", "wt.mc_id", "wt_mc_id", "ocid",
        "twclid", "ttclid", "li_fat_id", "mkt_tok", "s_cid", "ns_mchannel",
        "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "rss", "xtor", "spm",
        "guccounter", "guce_referrer", "guce_referrer_sig", "feature", "smid",
        "ref", "ref_src", "ref_url", "referrer", "src", "source", "cid", "from",
        "share", "via", "amp", "outputtype",
    }
)  # fmt: skip
# Parameters that are tracking only when their value looks like a channel, never an id.
_CHANNEL_ONLY = frozenset({"ref", "src", "source", "cid", "from", "share", "via", "feature"})
_CHANNEL_VALUE_RE = re.compile(r"^[A-Za-z][\w.\-]{0,40}$")
_AMP_VALUES = frozenset({"", "1", "true", "yes", "amp"})


def _is_tracking(key: str, value: str) -> bool:
    """True for parameters that only say where a click came from."""
    name = key.lower()
    if name.startswith(_TRACKING_PREFIXES):
        return True
    if name in ("amp", "outputtype"):
        return value.lower() in _AMP_VALUES
    if name not in _TRACKING_PARAMS:
        return False
    if name in _CHANNEL_ONLY:
        return bool(_CHANNEL_VALUE_RE.match(value)) and not value.isdigit()
    return True


def _clean_query(query: str) -> str:
    """Drop tracking pairs; keep the others byte for byte, in their order."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if not _is_tracking(unquote_plus(key), unquote_plus(value)):
            kept.append(pair)
    return "&".join(kept)


def _strip_amp_path(path: str) -> str:
    """ "/amp/story/1", "/story/1/amp", "/story/1.amp.html", "/story/1.amp" -> the plain path."""
    path = re.sub(r"\.amp(\.html?)$", lambda m: m.group(1) or "", path, flags=re.IGNORECASE)
    path = re.sub(r"\.amp$", "", path, flags=re.IGNORECASE)
    path = re.sub(r"/amp(/?)$", r"\1", path, flags=re.IGNORECASE)
    path = re.sub(r"/amp/", "/", path, flags=re.IGNORECASE)
    return path or "/"


def _netloc(scheme: str, host: str, port: int | None, userinfo: str) -> str:
    if host.startswith("amp.") and host.count(".") >= 2:
        host = "www." + host[len("amp.") :]  # amp.theguardian.com serves www.theguardian.com
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}@{host}" if userinfo else host


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of an article URL.

    Resolves ``url`` against ``base``; lower-cases scheme and host; drops default
    ports, the fragment, tracking parameters (utm_*, fbclid, gclid, ...) and AMP
    variants (``/amp/``, trailing ``/amp``, ``.amp.html``, ``?amp=1``,
    ``outputType=amp``, ``amp.`` host). Other parameters (``?id=171``) are kept
    in their order. A string that is not an http(s) URL is returned stripped.
    """
    raw = url.strip()
    if base:
        raw = urljoin(base.strip(), raw)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return raw
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = _netloc(scheme, parts.hostname.lower().rstrip("."), port, userinfo)
    query = _clean_query(parts.query)
    path = _strip_amp_path(parts.path or "/")
    return urlunsplit((scheme, netloc, path, query, ""))


def is_http_url(value: str | None) -> bool:
    """True when ``value`` is an absolute http(s) URL with a host."""
    if not value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)
