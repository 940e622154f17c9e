"""The rate is reached at any latency: reading a large list at 1 s, end to end in virtual time.

The simulator answers over real HTTP after a latency of 1 s +-30 % that sleeps on the client's
``VirtualClock`` (``slow_wire``), so the run is deterministic and takes no wall-clock second.
The limiter was designed at about 0 ms; at 1 s the evidence a response carries must be dated by
when the server handled it, not when it arrived, or the model never learns where the server's
second begins and hands out a fraction of the rate (issue #16: 2-3x the ideal).

Before that dating this read took 1.73x the ideal ``(pages - burst) / rate + latency``; with a
burst of two refills (paced) it now takes 1.32x. With a burst of one refill it took 2.04x until
each refill went as one batch at the moment that lands it whole (``batches``); now 1.18x. What is
left is the stepwise refill (the ideal spreads each refill evenly over the second) and the last
answer's jitter.
"""

from __future__ import annotations

import math
import random

import pytest

from syncer.cloud.client import CloudClient
from syncer.cloud.ratelimit import RateLimiter
from syncer.model import ENTITIES
from syncer.simulator import Limits
from syncer.simulator.config import Faults
from tests.cloud.slow_wire import ServerClock, in_virtual_time
from tests.cloud.virtual_time import Server, VirtualClock, drive
from tests.fixtures.simulator import SimulatorFactory, cloud_settings

pytestmark = pytest.mark.anyio

ENTITY_COUNT, PAGE, RATE, BURST, LATENCY = 10_000, 100, 20, 40, 1.0


@pytest.mark.parametrize(("burst", "bound"), [(BURST, 1.35), (RATE, 1.25)])
async def test_ten_thousand_entities_at_1_s_are_read_at_the_rate(
    simulator_factory: SimulatorFactory, burst: int, bound: float
) -> None:
    """With a burst of two refills the limiter paces; with a burst of one it sends each refill
    as one batch (``batches``). Before batches that bucket read at 2.04x the ideal."""
    clock = VirtualClock()
    server = ServerClock(clock)
    sim = await simulator_factory(
        clock=server,
        faults=Faults(seed=5, latency_seconds=LATENCY, jitter_seconds=0.3 * LATENCY),
        limits=Limits(replenish_rate=RATE, burst_capacity=burst),
    )
    for n in range(ENTITY_COUNT):
        sim.control.seed("entities", {"EntityNo": f"R-{n:05}", "Name": f"Client {n}"})
    settings = cloud_settings(
        sim,
        page_size=PAGE,
        max_in_flight=256,
    )
    async with CloudClient.open(settings, clock=clock) as client:
        # Warm: the token and a first answer of the family teach the rate, the latency and the
        # family's cost; until then its first page goes alone (#14), a latency the ideal omits.
        warm = lambda: client.find_by_key(ENTITIES, "R-00000")  # noqa: E731
        await in_virtual_time(clock, server, client.stats, warm)
        read, took = await in_virtual_time(
            clock, server, client.stats, lambda: client.list_objects(ENTITIES)
        )
    pages = ENTITY_COUNT // PAGE + 1
    ideal = (pages - burst) / RATE + LATENCY
    assert len(read) == ENTITY_COUNT
    assert sim.control.snapshot_stats()["denied"] == 0
    assert took <= bound * ideal


@pytest.mark.parametrize("latency", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("rate", [20, 50])
@pytest.mark.parametrize("wire", ["both ways", "before the limiter"])
async def test_workers_at_a_high_latency_draw_the_rate(
    latency: float, rate: int, wire: str
) -> None:
    """Burst equal to the rate, so every token must be spent between two refills. Before, the
    limiter granted 0.36-0.44 of the rate at 1 s and 0.68-0.73 at 0.5 s (with 429s), and after
    issue #16's first pass still 0.45 at 1 s: a model that cannot date answers closely enough to
    place the server's second held every other refill back. From round trips of 0.3 s up each
    refill now goes as one batch at the moment of our second that lands it whole (``batches``);
    at 250 ms credits still do. The latency is spent half each
    way (jitter +-30 % on each leg), or all of it before the limiter, as the simulator does."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, Limits(replenish_rate=rate, burst_capacity=rate, requested_tokens=1))
    rng = random.Random(1)
    if wire == "both ways":
        there = back = lambda: rng.uniform(0.35, 0.65) * latency
    else:
        there, back = (lambda: rng.uniform(0.7, 1.3) * latency), (lambda: 0.001)
    await drive(clock, limiter, server, workers=3 * rate, seconds=20, latency=there, back=back)
    start = math.floor(clock.now()) - 25
    assert server.count(False) == 0
    # Learning the moment takes a few seconds at 1 s (a batch's answers come a second late).
    assert server.count(True, since=start + 6, until=start + 20) >= 0.95 * rate * 14


async def test_a_read_the_bucket_holds_goes_at_once_after_a_pause_at_1_s(
    simulator_factory: SimulatorFactory,
) -> None:
    """101 pages, a bucket of 200 at 200/s that holds them all, 1 s +- 30 %, read a pause after
    the warm-up: the first page goes at once, and the other hundred as soon as it is answered,
    so the read takes two round trips (at most 2.6 s). Waiting for the batch moment instead
    (where in our second the refills land whole) cost up to a second before each: 4.08 s."""
    clock = VirtualClock()
    server = ServerClock(clock)
    sim = await simulator_factory(
        clock=server,
        faults=Faults(seed=1, latency_seconds=LATENCY, jitter_seconds=0.3 * LATENCY),
        limits=Limits(replenish_rate=200, burst_capacity=200),
    )
    for n in range(ENTITY_COUNT):
        sim.control.seed("entities", {"EntityNo": f"R-{n:05}", "Name": f"Client {n}"})
    async with CloudClient.open(cloud_settings(sim, page_size=PAGE), clock=clock) as client:
        await in_virtual_time(clock, server, client.stats, client.list_roles)  # then a pause
        read, took = await in_virtual_time(
            clock, server, client.stats, lambda: client.list_objects(ENTITIES, expected=10_000)
        )
    assert len(read) == ENTITY_COUNT
    assert sim.control.snapshot_stats()["denied"] == 0
    assert took <= 2 * 1.3 * LATENCY


@pytest.mark.parametrize("seed", [1, 3])
async def test_a_wire_straddling_the_batch_threshold_keeps_one_model(seed: int) -> None:
    """300 ms +-30 % before the limiter, 200/s and a burst of 200: round trips of 0.21-0.39 s
    straddle ``Tuning.batch_round_trip``. A burst's answers come back slowest last, so the recent
    ones the bucket keeps were all above the threshold a moment after each refill: the limiter
    switched to batches and back within a second, each switch spending what the other model had
    just credited (49 and 50 x 429 with these seeds, starting 0.6 s into the server's second)."""
    clock = VirtualClock(start=1_700_000_000.6)
    limiter = RateLimiter(clock)
    server = Server(clock, Limits(replenish_rate=200, burst_capacity=200, requested_tokens=1))
    rng = random.Random(seed)
    there, back = (lambda: rng.uniform(0.21, 0.39)), (lambda: 0.001)
    await drive(clock, limiter, server, workers=200, seconds=8, latency=there, back=back)
    assert server.count(False) == 0


@pytest.mark.parametrize("place", [0.05, 0.3, 0.5, 0.7, 0.85, 0.95])
async def test_a_read_of_two_refills_at_0_ms_ends_soon_after_the_second(
    simulator_factory: SimulatorFactory, place: float
) -> None:
    """101 pages at 50/s with a burst of 50, 0 ms, read a pause after the warm-up (``place`` into
    the server's second): 50 pages go at once, 50 with the next refill and the last with the one
    after, so no reader ends sooner than that second refill. Where it falls is not known yet (the
    warm-up's answer only says that one boundary lies in every second before it): tokens held
    back through the arc of the second refill find it. With one probe a second, at the arc's
    middle, the last page waited up to half a second past it (1.30x at 0.85, 1.23x at 0.37)."""
    clock = VirtualClock(start=1_700_000_000 + place)
    server = ServerClock(clock)
    sim = await simulator_factory(clock=server, limits=Limits(replenish_rate=50, burst_capacity=50))
    for n in range(ENTITY_COUNT):
        sim.control.seed("entities", {"EntityNo": f"R-{n:05}", "Name": f"Client {n}"})
    async with CloudClient.open(cloud_settings(sim, page_size=PAGE), clock=clock) as client:
        await in_virtual_time(clock, server, client.stats, client.list_roles)  # then a pause
        started = clock.now()
        read, took = await in_virtual_time(
            clock, server, client.stats, lambda: client.list_objects(ENTITIES, expected=10_000)
        )
    second_refill = math.floor(started) + 2 - started
    assert len(read) == ENTITY_COUNT
    assert sim.control.snapshot_stats()["denied"] == 0
    assert took <= 1.15 * second_refill
