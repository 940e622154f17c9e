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
from dataclasses import dataclass

from syncer.clock import Clock
from syncer.simulator.config import Limits

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


class NeighbourDrain:
    """Another program on the same bucket, asking for ``tokens`` once every whole second.

    Its requests are replayed lazily, second by second, whenever the bucket is next looked at, so
    the result is the same as a real neighbour's and needs no background task. A long idle gap is
    replayed only over its last ``ttl + 2`` seconds: earlier seconds cannot influence the bucket.
    """

    def __init__(self, tokens: int, clock: Clock) -> None:
        self.tokens = tokens
        self._clock = clock
        self._last_second = math.floor(clock.now()) - 1

    def catch_up(self, store: BucketStore, key: str, limits: Limits) -> None:
        now = math.floor(self._clock.now())
        horizon = bucket_ttl(limits)
        first = self._last_second + 1
        if math.isfinite(horizon):
            first = max(first, now - int(horizon) - 2)
        own = limits.updated({"requested_tokens": self.tokens})
        for second in range(first, now + 1):
            store.take(key, own, at_second=second)
        self._last_second = max(self._last_second, now)
