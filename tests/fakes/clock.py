"""A clock the test moves by hand, for the poller, planner and store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Starts a few seconds after the real time: the store stamps new sources due
    at its own (real) clock, and they must be due for this one."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
