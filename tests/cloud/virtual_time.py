"""Virtual time for many concurrent tasks, and a Spring bucket to run the limiter against.

``ManualClock`` moves the clock by each sleeper's own duration, which is right for one task and
wrong for many. ``VirtualClock`` is a small scheduler instead: sleepers wait in a queue ordered by
wake-up time and ``run`` wakes the earliest one whenever every other task is blocked, so fifty
workers with 50 ms latency each make the same interleaving as in real time, in milliseconds. The
server side is the simulator's own ``BucketStore`` (Spring's arithmetic) on the same clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio

from syncer.cloud.headers import RateHeaders, parse_rate_headers
from syncer.cloud.ratelimit import Grant, RateLimiter
from syncer.simulator.config import Limits, NeighbourPattern
from syncer.simulator.limiter import SCHEDULES, BucketStore, Decision, NeighbourDrain


class VirtualClock:
    def __init__(self, start: float = 1_700_000_000.37) -> None:
        self._now = start
        self._start = start
        self._queue: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._start

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        woken = anyio.Event()
        heapq.heappush(self._queue, (self._now + seconds, next(self._order), woken))
        await woken.wait()

    async def run(self, until: float, busy: Callable[[], bool] = lambda: False) -> None:
        """Advance time sleeper by sleeper until ``until`` (in ``now()`` terms).

        ``busy`` says that work is under way outside any task (an HTTP exchange on loopback whose
        bytes are still in the kernel): time stands still until it is done, so real latency and
        the machine's load cost no virtual time and cannot change the outcome.
        """
        me = asyncio.current_task()
        while True:
            await _all_blocked(me)
            if busy():
                await asyncio.sleep(_IO_POLL)
                continue
            if not self._queue or self._queue[0][0] > until:
                self._now = max(self._now, until)
                return
            wake, _, woken = heapq.heappop(self._queue)
            self._now = max(self._now, wake)
            woken.set()


_IO_POLL = 0.0002
"""Real seconds to let the event loop poll sockets while an exchange is under way."""


async def _all_blocked(me: asyncio.Task[object] | None) -> None:
    while True:
        await asyncio.sleep(0)
        busy = [
            t
            for t in asyncio.all_tasks()
            if t is not me and (t._fut_waiter is None or t._fut_waiter.done())  # type: ignore[attr-defined]
        ]
        if not busy:
            return


class ContinuousStore(BucketStore):
    """A bucket that refills continuously (as many token-bucket libraries do), not at whole
    seconds: the limiter must not depend on the simulator's stepwise refill. A neighbour's draw
    dated at a past whole second is taken now (the bucket never goes back in time)."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self._clock_now = clock.now
        self._levels: dict[str, tuple[float, float]] = {}

    def take(self, key: str, limits: Limits, at_second: int | None = None) -> Decision:
        now = self._clock_now()
        tokens, since = self._levels.get(key, (float(limits.burst_capacity), now))
        tokens = min(limits.burst_capacity, tokens + (now - since) * limits.replenish_rate)
        allowed = tokens >= limits.requested_tokens
        tokens -= limits.requested_tokens if allowed else 0
        self._levels[key] = (tokens, now)
        return Decision(allowed, math.floor(tokens), limits)


NEIGHBOUR_SEED = 1
"""The seed of the neighbour's draws (its Poisson arrivals) in a ``Server`` unless told."""


@dataclass
class Server:
    """Spring buckets on the virtual clock, keyed by ``key_of(family)``."""

    clock: VirtualClock
    limits: Limits
    key_of: Callable[[str], str] = lambda family: "client"
    strip_headers: bool = False
    neighbour_tokens: int = 0
    """Another program taking this many tokens a second (the simulator's drain)..."""
    neighbour_pattern: NeighbourPattern = NeighbourPattern.REFILL
    """...at these moments of each second..."""
    neighbour_seed: int = NEIGHBOUR_SEED
    """...drawn from this seed (the Poisson arrivals)."""
    continuous: bool = False
    """Refill continuously (``ContinuousStore``) instead of at whole seconds like Spring."""
    per_second: Counter[tuple[int, bool]] = field(default_factory=Counter)
    store: BucketStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = ContinuousStore(self.clock) if self.continuous else BucketStore(self.clock)
        self.neighbour = NeighbourDrain(
            self.neighbour_tokens or 1, self.clock, self.neighbour_pattern, seed=self.neighbour_seed
        )

    def handle(self, family: str) -> tuple[int, RateHeaders]:
        if self.neighbour_tokens:
            self.neighbour.catch_up(self.store, self.key_of(family), self.limits)
        decision = self.store.take(self.key_of(family), self.limits)
        self.per_second[(math.floor(self.clock.now()), decision.allowed)] += 1
        headers = RateHeaders() if self.strip_headers else parse_rate_headers(decision.headers)
        return (200 if decision.allowed else 429), headers

    def neighbour_draws(self, since: int, until: int) -> int:
        """Tokens the neighbour's schedule draws in the whole seconds ``[since, until)`` (what a
        seeded Poisson neighbour draws need not be its average)."""
        if not self.neighbour_tokens:
            return 0
        schedule = SCHEDULES[self.neighbour_pattern]
        return sum(
            tokens
            for second in range(since, until)
            for _, tokens in schedule(
                self.neighbour_tokens, second, random.Random(f"{self.neighbour_seed}:{second}")
            )
        )

    def count(self, allowed: bool, since: int | None = None, until: int | None = None) -> int:
        return sum(
            n
            for (second, ok), n in self.per_second.items()
            if ok is allowed
            and (since is None or second >= since)
            and (until is None or second < until)
        )


async def drive(
    clock: VirtualClock,
    limiter: RateLimiter | Sequence[RateLimiter],
    server: Server,
    *,
    workers: int,
    seconds: float,
    latency: Callable[[], float] = lambda: 0.002,
    back: Callable[[], float] | None = None,
    families: tuple[str, ...] = ("entities",),
) -> None:
    """``workers`` tasks sending requests back to back through ``limiter`` for ``seconds``; with
    several limiters (processes sharing one API client), the workers are dealt out among them.
    ``latency`` is each request's way to the server and, unless ``back`` says otherwise, the way
    back."""
    way_back = latency if back is None else back
    end = clock.now() + seconds
    limiters = [limiter] if isinstance(limiter, RateLimiter) else list(limiter)

    async def worker(index: int) -> None:
        limiter = limiters[index % len(limiters)]
        for n in itertools.count():
            family = families[(index + n) % len(families)]
            grant = await limiter.acquire(family)
            if clock.now() >= end:
                limiter.release(grant)
                return
            await clock.sleep(latency())
            status, headers = server.handle(family)
            await clock.sleep(way_back())
            limiter.observe(grant, status, headers)

    async with anyio.create_task_group() as tg:
        for index in range(workers):
            tg.start_soon(worker, index)
        await clock.run(end + 5)
        tg.cancel_scope.cancel()


async def acquire_many(
    clock: VirtualClock, limiter: RateLimiter, count: int, family: str = "entities"
) -> list[Grant]:
    """Take ``count`` grants one after another, letting virtual time pass as the limiter waits."""
    grants: list[Grant] = []

    async def take() -> None:
        for _ in range(count):
            grants.append(await limiter.acquire(family))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        while len(grants) < count:
            await clock.run(clock.now() + 1.0)
    return grants
