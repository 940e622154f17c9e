"""The limiter in a process whose event loop stalls (a starved CPU), in virtual time."""

from __future__ import annotations

import math

import pytest

from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator.config import Limits
from tests.cloud.lagging_loop import LaggingClock, Stalls, drive_lagging
from tests.cloud.virtual_time import Server, VirtualClock

pytestmark = pytest.mark.anyio


async def test_a_credit_taken_after_the_next_boundary_is_not_counted_twice() -> None:
    """Bucket 20/s, burst 20, twenty requests in flight, started 0.85 s into the server's
    second. The process gets no CPU from 1.14 s to 2.08 s of the server's clock: the model's
    credit of 1.86 s is taken at 2.08 s, after the server's next boundary (2 s) met a full
    bucket and was lost to its cap. The credited refill is spent then; the next credit (a
    second after the last one, not at the arc's late end) took its boundary for one after
    those grants and credited the lost refill again: its eighteen requests were refused."""
    clock = VirtualClock(start=1_700_000_000.85)
    stall = Stalls([(0.289, 1.229)])  # on the monotonic clock, which starts at 0.85 s
    lagging = LaggingClock(clock, stall, step=0.002)
    limiter = RateLimiter(lagging)
    server = Server(clock, Limits(replenish_rate=20, burst_capacity=20))
    await drive_lagging(clock, lagging, limiter, server, workers=20, seconds=10)
    assert server.count(False) == 0
    first = math.floor(clock.now()) - 15
    # Refused nothing by holding back: the seconds after the stall use their refills (less a
    # token now and then, held back to probe the phase).
    assert server.count(True, since=first + 3, until=first + 10) >= 0.95 * 20 * 7
