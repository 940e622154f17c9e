"""The limiter against Spring's bucket arithmetic, in virtual time."""

from __future__ import annotations

import math
import random

import pytest

from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator.config import Limits
from tests.cloud.virtual_time import Server, VirtualClock, drive

pytestmark = pytest.mark.anyio


def limits(rate: int, burst: int, cost: int = 1) -> Limits:
    return Limits(replenish_rate=rate, burst_capacity=burst, requested_tokens=cost)


@pytest.mark.parametrize(
    ("rate", "burst", "cost", "workers"),
    [(10, 20, 1, 1), (10, 20, 1, 8), (10, 10, 1, 64), (50, 100, 1, 8), (10, 40, 10, 8)],
)
async def test_uses_the_granted_rate_without_refusals(
    rate: int, burst: int, cost: int, workers: int
) -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(rate, burst, cost))
    rng = random.Random(1)
    await drive(
        clock, limiter, server, workers=workers, seconds=20, latency=lambda: rng.uniform(0.0, 0.05)
    )
    start = math.floor(clock.now()) - 25
    steady = server.count(True, since=start + 3, until=start + 20)
    assert server.count(False) == 0
    assert steady >= 0.97 * (rate / cost) * 17
    stats = limiter.stats
    assert (stats.rate, stats.burst, stats.cost) == (rate, burst, cost)
