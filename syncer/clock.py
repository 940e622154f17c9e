"""Time as an injectable dependency.

The rate limiter, the session pool and the simulator all reason about time. Taking a ``Clock``
instead of calling ``time`` directly lets tests drive them in virtual time: ``ManualClock`` moves
only when told to (or when something sleeps on it), so a test of a 30-minute token lifetime or a
one-request-a-minute bucket runs in milliseconds and never depends on the machine's speed.

Timestamps for bookkeeping rows (``utc_now``, ``as_utc``) are always UTC-aware, whatever the
database hands back: SQLite stores ``DateTime(timezone=True)`` values without their zone, so a
value read back is naive, and every comparison with "now" goes through ``as_utc`` to stay correct
on both dialects.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (wall clock; the server's limiter uses whole seconds)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards, for measuring intervals."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only by ``advance`` or ``sleep``.

    ``sleep`` advances the clock to the sleeper's wake-up time (if it is later than now) and then
    yields to the event loop once, so concurrent sleepers wake in time order as far as the order
    of their calls allows. Good enough for deterministic tests; not a scheduler.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._start = start

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
        await anyio.lowlevel.checkpoint()


def utc_now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now(), UTC)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
