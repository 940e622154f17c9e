"""The pacing strategies compared, each behind one interface: ``await before()``, then ``after()``.

``before`` waits until the strategy lets a request go and returns a handle; ``after`` reports the
response (status and headers) and says whether to send the same request again (after a 429).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from typing import Protocol

import anyio
from aiolimiter import AsyncLimiter

from syncer.clock import SystemClock
from syncer.cloud.headers import parse_rate_headers
from syncer.cloud.ratelimit import Grant, RateLimiter


class Strategy(Protocol):
    name: str

    async def before(self) -> object: ...

    async def after(self, handle: object, status: int, headers: Mapping[str, str]) -> None: ...


class Syncer:
    """syncer's limiter: learns everything from the headers; nothing configured."""

    name = "syncer"

    def __init__(self) -> None:
        self.limiter = RateLimiter(SystemClock())

    async def before(self) -> object:
        return await self.limiter.acquire("entities")

    async def after(self, handle: object, status: int, headers: Mapping[str, str]) -> None:
        assert isinstance(handle, Grant)
        self.limiter.observe(handle, status, parse_rate_headers(headers))


class Backoff:
    """No pacing; on a 429 the request sleeps a jittered exponential backoff (tenacity's
    ``wait_random_exponential``: uniform up to ``0.1 * 2**attempt`` s, capped at 10 s)."""

    name = "backoff"

    def __init__(self) -> None:
        self._rng = random.Random(1)

    async def before(self) -> object:
        return None

    async def after(self, handle: object, status: int, headers: Mapping[str, str]) -> None:
        return None

    async def on_refused(self, attempt: int) -> None:
        await anyio.sleep(self._rng.uniform(0, min(10.0, 0.1 * 2**attempt)))


class Fixed:
    """aiolimiter told the true limits in advance: a bucket of ``burst / cost`` requests that
    drips ``rate / cost`` a second (it cannot know of a rate change or a neighbour)."""

    name = "fixed"

    def __init__(self, rate: float, burst: float, cost: float) -> None:
        self._limiter = AsyncLimiter(max_rate=burst / cost, time_period=burst / rate)

    async def before(self) -> object:
        await self._limiter.acquire()
        return None

    async def after(self, handle: object, status: int, headers: Mapping[str, str]) -> None:
        return None


class Cubic:
    """The AWS SDKs' "adaptive" retry mode, compactly: a client-side token bucket whose rate
    follows CUBIC (multiplicative decrease on a throttle, cubic regrowth towards the last rate
    that was throttled), unpaced until the first throttle."""

    name = "cubic"
    BETA = 0.7
    SCALE = 0.4
    SMOOTH = 0.8
    BUCKET = 0.5

    def __init__(self) -> None:
        self._enabled = False
        self._fill_rate = 0.5
        self._tokens = 0.0
        self._last_refill = time.monotonic()
        self._last_max = 0.0
        self._last_throttle = time.monotonic()
        self._measured = 0.0
        self._count = 0
        self._bucket_start = math.floor(time.monotonic() / self.BUCKET) * self.BUCKET
        self._lock = anyio.Lock()

    async def before(self) -> object:
        if not self._enabled:
            return None
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return None
                await anyio.sleep((1 - self._tokens) / self._fill_rate)

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(
            max(1.0, self._fill_rate), self._tokens + (now - self._last_refill) * self._fill_rate
        )
        self._last_refill = now

    def _measure(self) -> None:
        now = time.monotonic()
        bucket = math.floor(now / self.BUCKET) * self.BUCKET
        self._count += 1
        if bucket > self._bucket_start:
            rate = self._count / (bucket - self._bucket_start)
            self._measured = rate * self.SMOOTH + self._measured * (1 - self.SMOOTH)
            self._count, self._bucket_start = 0, bucket

    async def after(self, handle: object, status: int, headers: Mapping[str, str]) -> None:
        self._measure()
        now = time.monotonic()
        if status == 429:
            rate = min(self._measured, self._fill_rate) if self._enabled else self._measured
            self._last_max = max(rate, 0.5)
            self._last_throttle = now
            self._enabled = True
            self._refill()
            self._fill_rate = max(0.5, self._last_max * self.BETA)
        elif self._enabled:
            k = (self._last_max * (1 - self.BETA) / self.SCALE) ** (1 / 3)
            cubic = self.SCALE * (now - self._last_throttle - k) ** 3 + self._last_max
            self._refill()
            self._fill_rate = max(0.5, min(cubic, 2 * self._measured))
