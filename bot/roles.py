"""Which parts of the bot a process runs, and the leases that keep some of them single.

``newsbot run`` runs every role in one process (the SQLite default).
``newsbot run --role poller,sender`` runs some, on PostgreSQL, where several
processes share the work through tables:

* **receiver**: takes Telegram's updates into the inbox. Long polling admits
  one consumer per token, so it holds the ``updates`` lease; webhook
  receivers (several behind a load balancer) hold none.
* **poller**: polls due sources. Any number: each claims the sources it polls
  (``SourceRepository.claim_due``). It also plans the instant digests of
  the stories it stored.
* **planner**: plans the scheduled digests and prunes; one at a time (the
  ``planner`` lease).
* **sender**: runs the command handlers and sends the outbox; one at a time
  (the ``sender`` lease). Telegram's limits are per token, so every message
  the bot sends leaves from this one process and its one limiter: the budget
  holds across processes by construction. A standby sender takes over when
  the lease expires (``role_lease_seconds`` after the active one dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import utcnow, wait_any
from bot.errors import ConfigError
from bot.store.leases import LeaseRepository

log = logging.getLogger(__name__)

ROLES = ("receiver", "poller", "planner", "sender")
# A lease is renewed three times per its length: a renewal or two may fail (a
# database hiccup) before it is lost.
RENEWALS_PER_LEASE = 3


def parse_roles(text: str, *, is_sqlite: bool) -> frozenset[str]:
    """The roles of ``--role receiver,poller`` ("all" for every one); ConfigError if wrong."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    if not names or names == {"all"}:
        return frozenset(ROLES)
    unknown = sorted(names - set(ROLES))
    if unknown:
        raise ConfigError(
            "--role", f"unknown role {unknown[0]!r}", f"use {', '.join(ROLES)} or all"
        )
    if is_sqlite and names != set(ROLES):
        raise ConfigError(
            "--role",
            "separate roles need PostgreSQL (SQLite serves one process)",
            "set database_url to a PostgreSQL URL, or run without --role",
        )
    return frozenset(names)


class RoleLease:
    """Holds one lease for this process while :meth:`keep` runs; runs work while held."""

    def __init__(
        self, leases: LeaseRepository | None, name: str, owner: str, duration: timedelta
    ) -> None:
        self.name = name
        self._leases = leases  # None: always held (one process on SQLite)
        self._owner = owner
        self._duration = duration
        self._renew_every = duration.total_seconds() / RENEWALS_PER_LEASE
        self._held = asyncio.Event()
        self._tenure_over = asyncio.Event()
        self._held_until = 0.0  # monotonic: how long a held lease lasts without renewal
        self._idle = asyncio.Event()  # set while no work runs under the lease
        self._idle.set()

    @property
    def is_held(self) -> bool:
        """True while this process holds the lease."""
        return self._held.is_set()

    async def try_once(self) -> bool:
        """One attempt to take or renew the lease now; returns whether it is held."""
        await self._renew_once()
        return self.is_held

    async def keep(self, stop: asyncio.Event) -> None:
        """Take the lease when free, renew it while held, give it up at ``stop``.

        At ``stop`` the work under the lease is told to end; the lease is still
        renewed until that work has ended, and only then released, so a standby
        never runs the same work beside it.
        """
        try:
            while not stop.is_set():
                await self._renew_once()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._renew_every)
            self._end_tenure()
            while not self._idle.is_set():
                await self._renew_once(keep_tenure_over=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self._renew_every)
        finally:
            self._end_tenure()
            if self._leases is not None:
                # Shielded: a stop that cancels this task must not leave the lease to expire.
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._leases.release(self.name, self._owner))

    async def run_while_held(
        self, stop: asyncio.Event, work: Callable[[asyncio.Event], Awaitable[None]]
    ) -> None:
        """Run ``work(until)`` each time the lease is taken; ``until`` is set when it is lost."""
        while not stop.is_set():
            await wait_any(stop, self._held, 3600)
            if stop.is_set():
                return
            log.info("this process now holds the %s lease", self.name)
            self._idle.clear()
            try:
                await work(self._tenure_over)
            except Exception:  # the role's loop died: log it, and let a standby take over
                log.exception("the %s role failed; giving its lease up", self.name)
                await self._give_up()
            finally:
                self._idle.set()

    async def _renew_once(self, *, keep_tenure_over: bool = False) -> None:
        """One acquire or renewal; the lease counts as held only while it surely lasts."""
        if self._leases is None:
            self._update(True)
            return
        asked_at = time.monotonic()  # the lease lasts from before the request, not after
        try:
            ok = await self._leases.acquire(self.name, self._owner, utcnow(), self._duration)
        except Exception as err:  # unknown whether it was renewed: it lasts as before
            log.warning("renewing the %s lease failed: %s", self.name, err)
            if self.is_held and time.monotonic() >= self._held_until:
                self._end_tenure()
            return
        if ok:
            self._held_until = asked_at + self._duration.total_seconds() - self._renew_every
            if not keep_tenure_over:
                self._update(True)
        else:
            self._end_tenure()

    async def _give_up(self) -> None:
        self._end_tenure()
        if self._leases is not None:
            with contextlib.suppress(Exception):
                await self._leases.release(self.name, self._owner)

    def _update(self, held: bool) -> None:
        if held and not self.is_held:
            self._tenure_over = asyncio.Event()
            self._held.set()
        elif not held:
            self._end_tenure()

    def _end_tenure(self) -> None:
        if self.is_held:
            log.info("this process no longer holds the %s lease", self.name)
            self._held.clear()
            self._tenure_over.set()
