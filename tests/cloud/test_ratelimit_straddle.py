"""A burst on the wire while the server refills: the refill finds our grants' tokens still there.

The model takes a grant's tokens when it is sent; the server takes them when the request arrives,
up to a round trip later. When a credit's boundary falls while a burst is on the wire (handled
partly before the boundary and partly after), the server's bucket held the tokens of the part
still on its way: a refill up to the burst capacity was capped by them, and the next credit must
not add a whole refill. Such a boundary shows in the answers: two successful answers with the same
``remaining`` were handled in different server seconds.

Before (main at e0965bd), the credit after such a burst added the whole refill and the burst it
paid for was refused where it reached the server before the next boundary: 17 x 429 at 200/s and
0.4 s, 2 at 100/s and 0.25 s (``python -m tests.cloud.fixed_work 1000 200 200 0.4`` seed 2,
``... 1000 100 100 0.25`` seed 2: the cells below).
"""

from __future__ import annotations

import random

import pytest

from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator import Limits
from tests.cloud.virtual_time import Server, VirtualClock, drive

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("rate", "latency", "place"),
    [(200, 0.4, 0.1), (100, 0.25, 0.37)],
)
async def test_a_credit_after_a_burst_straddling_a_boundary_adds_only_the_room_left(
    rate: int, latency: float, place: float
) -> None:
    """A burst equal to the rate, the latency (+-30 %) all before the server's limiter, as
    ``fixed_work`` sends it (seed 2, starting ``place`` into the server's second): no request is
    refused, and from the third second on every refill is drawn whole. The window that shows the
    boundary places the server's second as well: without it the arc stayed wide, each credit came
    late in the server's second, and the conservative credit cost 200/s two seconds of the rate
    (108, 77, 123 of 200)."""
    clock = VirtualClock(start=1_700_000_000 + place)
    limiter = RateLimiter(clock)
    server = Server(clock, Limits(replenish_rate=rate, burst_capacity=rate, requested_tokens=1))
    rng = random.Random(2)
    there, back = (lambda: rng.uniform(0.7, 1.3) * latency), (lambda: 0.0005)
    await drive(clock, limiter, server, workers=rate, seconds=8, latency=there, back=back)
    start = int(clock.now()) - 13
    assert server.count(False) == 0
    assert server.count(True, since=start + 2, until=start + 8) >= 0.98 * rate * 6
