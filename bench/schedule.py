"""The bucket's true schedule, and the best any sender can do against it.

The simulator, like Spring Cloud Gateway (which passes ``Instant.now().getEpochSecond()`` to its
script), refills at whole seconds of the server's clock, never in between, and never past the
bucket's capacity. A request passes when it reaches the bucket in a second whose tokens cover its
cost. Formulas such as ``(requests - burst) / rate`` assume a continuous refill and an empty
bucket's refills kept; here the N-th request can go no earlier than the boundary where the tokens
given so far (each refill capped at the capacity) cover N requests. Benches use this to print an
ideal or a bound that no sender can beat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncer.simulator import Faults
from syncer.simulator.faults import FaultInjector


@dataclass(frozen=True)
class Schedule:
    """What the bucket gives our requests, second by second."""

    capacity: float
    """Tokens in the full bucket, and the most it holds after any refill."""
    cost: float
    rate: Callable[[int], float]
    """The refill at the start of whole second ``s`` (the rate change applied)."""
    neighbour: Callable[[int], float]
    """Tokens the neighbour takes in whole second ``s`` (its share, or what it really took)."""

    @classmethod
    def steady(cls, rate: float, capacity: float, cost: float = 1.0) -> Schedule:
        """A bucket of our own (no neighbour) refilled by ``rate`` at every whole second."""
        return cls(capacity, cost, rate=lambda _second: rate, neighbour=lambda _second: 0.0)

    def share(self, second: int) -> float:
        """Tokens the refill at the start of ``second`` leaves for us."""
        return self.rate(second) - self.neighbour(second)

    def requests_in(self, second: int) -> float:
        return self.share(second) / self.cost

    def ideal_makespan(self, requests: int, started: float) -> float:
        """Seconds from ``started`` until the bucket, full at ``started``, has passed
        ``requests`` requests that all reach it at ``started``."""
        return Level(self, math.floor(started), self.capacity).passed(requests, started) - started

    def bound(
        self,
        requests: int,
        started: float,
        *,
        alone: Sequence[float],
        latency: float,
        level: tuple[int, float] | None = None,
    ) -> float:
        """The least makespan from ``started`` (server clock) of any sender of ``requests``
        requests, all of which must pass the bucket.

        The first ``len(alone)`` requests go one at a time, each sent when the previous one has
        been answered and taking its own latency from ``alone`` (a token request, or a family's
        first request whose answer tells its cost: issue #14); every later request takes at
        least ``latency`` to reach the bucket. All latency is on the way to the bucket and an
        answer is back when its request passes, as in the simulator, so the makespan ends when
        the last request passes. ``level`` is the bucket as last written (the whole second and
        the tokens left then); ``None`` is a bucket full at ``started``.
        """
        second, tokens = level if level is not None else (math.floor(started), self.capacity)
        bucket = Level(self, second, tokens)
        moment = started
        for trip in alone[:requests]:
            moment = bucket.passed(1, moment + trip)
        rest = requests - len(alone)
        if rest > 0:
            moment = bucket.passed(rest, moment + latency)
        return moment - started


@dataclass
class Level:
    """The bucket's tokens in one whole second, walked forward as the best sender spends them:
    each request as early as it reaches the bucket and a token is there (spending early never
    loses anything; holding tokens loses the refills that the capacity cuts off)."""

    schedule: Schedule
    second: int
    tokens: float

    def passed(self, requests: int, arriving: float) -> float:
        """When the last of ``requests`` requests reaching the bucket at ``arriving`` passes."""
        self._refill_until(math.floor(arriving))
        moment = arriving
        while True:
            now = min(requests, math.floor(self.tokens / self.schedule.cost))
            self.tokens -= now * self.schedule.cost
            requests -= now
            if requests <= 0:
                return moment
            self._refill_until(self.second + 1)
            moment = float(self.second)

    def _refill_until(self, second: int) -> None:
        while self.second < second:
            self.second += 1
            refilled = self.tokens + self.schedule.share(self.second)
            self.tokens = min(self.schedule.capacity, refilled)


def trips(faults: Faults, before: int, alone: int) -> tuple[tuple[float, ...], float]:
    """The latencies the simulator injects into a run's first ``alone`` requests, and the least
    it can inject into any later one.

    Every request that reaches the gateway draws its fate in turn from one generator seeded by
    ``faults``; ``before`` draws were taken before the run (a warm-up). Requests that go one at a
    time draw in a known order; requests in flight together draw in whatever order they arrive,
    and a sender could even spend draws on requests it does not need, so a bound can only count
    on the least latency for them.
    """
    injector = FaultInjector(faults)
    for _ in range(before):
        injector.draw()
    drawn = tuple(injector.draw().delay for _ in range(alone))
    return drawn, max(0.0, faults.latency_seconds - faults.jitter_seconds)
