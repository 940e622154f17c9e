"""Spring Cloud Gateway's ``RedisRateLimiter``, reproduced arithmetic for arithmetic.

The stock limiter runs a Lua script in Redis for every request (``request_rate_limiter.lua``)::

    fill_time = capacity / rate;  ttl = floor(fill_time * 2)
    last_tokens = GET tokens_key or capacity;  last_refreshed = GET timestamp_key or 0
    filled = min(capacity, last_tokens + max(0, now - last_refreshed) * rate)
    allowed = filled >= requested;  new_tokens = allowed and filled - requested or filled
    if ttl > 0: SETEX tokens_key ttl new_tokens; SETEX timestamp_key ttl now

``now`` is whole Unix seconds, so refill is stepwise; the keys expire after ``ttl`` seconds of real
time, after which the bucket is full again; a ``ttl`` of 0 (a bucket that refills in under half a
second) stores nothing, so such a bucket is always full. A denied request rewrites the same
``filled`` value: it consumes nothing. Nothing here does I/O; time comes from the injected clock,
so tests can walk second boundaries with a ``ManualClock``.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from syncer.clock import Clock
from syncer.simulator.config import Limits, NeighbourPattern

HEADER_CAPACITY = "x-ratelimit-burst-capacity"
HEADER_RATE = "x-ratelimit-replenish-rate"
HEADER_REQUESTED = "x-ratelimit-requested-tokens"
HEADER_REMAINING = "x-ratelimit-remaining"


@dataclass(slots=True)
class _Bucket:
    tokens: int
    refreshed: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class Decision:
    """The limiter's answer and the four headers Spring adds to the response."""

    allowed: bool
    remaining: int
    limits: Limits

    @property
    def headers(self) -> dict[str, str]:
        return {
            HEADER_CAPACITY: str(self.limits.burst_capacity),
            HEADER_RATE: str(self.limits.replenish_rate),
            HEADER_REQUESTED: str(self.limits.requested_tokens),
            HEADER_REMAINING: str(self.remaining),
        }


def bucket_ttl(limits: Limits) -> float:
    """Seconds an idle bucket survives: ``floor(capacity / rate * 2)``; forever when rate is 0."""
    if limits.replenish_rate == 0:
        return math.inf
    return float(math.floor(limits.burst_capacity / limits.replenish_rate * 2))


class BucketStore:
    """The Redis side: token buckets by key, with Spring's arithmetic and idle expiry."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, limits: Limits, at_second: int | None = None) -> Decision:
        """Run the script once for ``key``; ``at_second`` replays a past second (a neighbour)."""
        real_now = self._clock.now()
        now = math.floor(real_now) if at_second is None else at_second
        capacity, rate, requested = (
            limits.burst_capacity,
            limits.replenish_rate,
            limits.requested_tokens,
        )
        bucket = self._buckets.get(key)
        if bucket is not None and bucket.expires_at <= real_now:
            del self._buckets[key]
            bucket = None
        last_tokens = capacity if bucket is None else bucket.tokens
        last_refreshed = 0 if bucket is None else bucket.refreshed
        filled = min(capacity, last_tokens + max(0, now - last_refreshed) * rate)
        allowed = filled >= requested
        new_tokens = filled - requested if allowed else filled
        ttl = bucket_ttl(limits)
        if ttl > 0:
            self._buckets[key] = _Bucket(new_tokens, now, real_now + ttl)
        return Decision(allowed, new_tokens, limits)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Live buckets (expired ones dropped) for the state dump."""
        real_now = self._clock.now()
        return {
            key: {"tokens": b.tokens, "refreshed": b.refreshed}
            for key, b in sorted(self._buckets.items())
            if b.expires_at > real_now
        }

    def clear(self) -> None:
        self._buckets.clear()


class RateLimiter:
    """The gateway filter: fail-open draws in front of the bucket store.

    One random draw per request, whether or not fail-open is enabled, so changing the share does
    not shift which later requests are picked.
    """

    def __init__(self, clock: Clock, seed: int) -> None:
        self.store = BucketStore(clock)
        self._rng = random.Random(seed)

    def check(self, key: str, limits: Limits) -> Decision:
        if self._rng.random() < limits.fail_open_share:
            return Decision(True, -1, limits)
        return self.store.take(key, limits)


def _refill(tokens: int, second: int, rng: random.Random) -> list[tuple[float, int]]:
    return [(float(second), tokens)]


def _even(tokens: int, second: int, rng: random.Random) -> list[tuple[float, int]]:
    return [(second + (i + 0.5) / tokens, 1) for i in range(tokens)]


def _poisson(tokens: int, second: int, rng: random.Random) -> list[tuple[float, int]]:
    draws, at = [], second + rng.expovariate(tokens)
    while at < second + 1:
        draws.append((at, 1))
        at += rng.expovariate(tokens)
    return draws


def _bursts(tokens: int, second: int, rng: random.Random) -> list[tuple[float, int]]:
    """On for one second (twice the share, evenly), off for the next."""
    return _even(2 * tokens, second, rng) if second % 2 == 0 else []


Schedule = Callable[[int, int, random.Random], list[tuple[float, int]]]
SCHEDULES: dict[NeighbourPattern, Schedule] = {
    NeighbourPattern.REFILL: _refill,
    NeighbourPattern.EVEN: _even,
    NeighbourPattern.POISSON: _poisson,
    NeighbourPattern.BURSTS: _bursts,
}
"""When in each whole second the neighbour draws, and how many tokens each draw asks for."""


class NeighbourDrain:
    """Another program on the same bucket, drawing ``tokens`` a second on average in ``pattern``:
    all at the refill, evenly through the second, as Poisson arrivals, or in on/off bursts.

    Its draws are replayed lazily, in order, whenever the bucket is next looked at, so the result
    is the same as a real neighbour's and needs no background task: Spring's arithmetic depends on
    the whole second of a draw only. A long idle gap is replayed only over its last ``ttl + 2``
    seconds: earlier seconds cannot influence the bucket. Each second's draws come from a generator
    seeded with ``seed`` and the second: a run replays the same neighbour however it is observed.
    """

    def __init__(
        self,
        tokens: int,
        clock: Clock,
        pattern: NeighbourPattern = NeighbourPattern.REFILL,
        seed: int = 0,
    ) -> None:
        self.tokens = tokens
        self.pattern = pattern
        self.allowed = 0
        self.denied = 0
        self.taken: Counter[int] = Counter()
        """Tokens its allowed draws took in each whole second (what it really left others: a
        Poisson neighbour draws more or less than its average, and a refused draw takes none)."""
        self._seed = seed
        self._clock = clock
        self._done_until = float(math.floor(clock.now()))

    def catch_up(self, store: BucketStore, key: str, limits: Limits) -> None:
        """Replay every draw due by now (one due at this very moment comes first)."""
        now = self._clock.now()
        horizon = bucket_ttl(limits)
        start = self._done_until
        if math.isfinite(horizon):
            start = max(start, math.floor(now) - horizon - 2)
        schedule = SCHEDULES[self.pattern]
        for second in range(math.floor(start), math.floor(now) + 1):
            rng = random.Random(f"{self._seed}:{second}")
            for at, tokens in schedule(self.tokens, second, rng):
                if start <= at <= now:
                    own = limits.updated({"requested_tokens": tokens})
                    allowed = store.take(key, own, at_second=second).allowed
                    self.allowed += allowed
                    self.denied += not allowed
                    if allowed:
                        self.taken[second] += tokens
        self._done_until = max(self._done_until, math.nextafter(now, math.inf))

    @property
    def refused(self) -> float:
        """The share of its draws the bucket refused."""
        total = self.allowed + self.denied
        return self.denied / total if total else 0.0
