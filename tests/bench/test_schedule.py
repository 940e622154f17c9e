"""The bound the read and apply benches print (``bench.schedule``): no sender can beat it.

Hand-made schedules check the values that follow from the bucket's rules (whole-second refills,
the burst as a ceiling); the property runs a sender that knows the bucket against the simulator's
own ``BucketStore`` in virtual time and finds it never finishes before the bound, and exactly at
it where nothing hides a token from it (latency only where requests go one at a time).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp
import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.schedule import Schedule, trips
from syncer.clock import ManualClock
from syncer.simulator import Faults, Limits
from tests.cloud.virtual_time import Server, VirtualClock
from tests.fixtures.simulator import SimulatorFactory

SECOND = 1_700_000_000


@pytest.mark.parametrize(("offset", "bound"), [(0.0, 2.0), (0.5, 1.5), (0.9, 1.1)])
def test_101_pages_at_rate_50_need_two_refills_whatever_the_offset(
    offset: float, bound: float
) -> None:
    """The issue's formula says 1.02 s: it spreads the refills over the second."""
    schedule = Schedule.steady(50, capacity=50)
    assert schedule.bound(101, SECOND + offset, alone=(), latency=0.0) == pytest.approx(bound)


def test_latency_on_the_way_to_the_bucket_is_hidden_by_the_refills() -> None:
    """Sent at .0 and 250 ms on the way, the burst passes at .25, the refills at 1 and 2: the
    read ends at 2 s, not 2.25 s."""
    schedule = Schedule.steady(50, capacity=50)
    assert schedule.bound(101, SECOND, alone=(0.25,), latency=0.25) == pytest.approx(2.0)


def test_refills_while_the_first_request_is_alone_are_lost_to_the_full_bucket() -> None:
    """The lone request passes at 1.5 s with the refill of second 1 cut off by the capacity;
    the other 100 reach a bucket of 50 at 3 s and need the refill of second 4. A schedule that
    kept the refills would say 3 s."""
    schedule = Schedule.steady(50, capacity=50)
    assert schedule.bound(101, SECOND, alone=(1.5,), latency=1.5) == pytest.approx(4.0)


def test_the_bucket_as_the_warm_up_left_it() -> None:
    """Emptied earlier in the second the read starts in: nothing passes before the next refill,
    half a second in, and ten requests need two. Emptied a second earlier, the refill at the
    start holds five of them."""
    schedule = Schedule.steady(5, capacity=5)
    for emptied, bound in ((SECOND, 1.5), (SECOND - 1, 0.5)):
        level = (emptied, 0.0)
        assert schedule.bound(10, SECOND + 0.5, alone=(), latency=0.0, level=level) == bound


def test_requests_that_go_alone_queue_one_behind_the_other() -> None:
    schedule = Schedule.steady(100, capacity=100)
    assert schedule.bound(2, SECOND, alone=(0.3, 0.4), latency=0.0) == pytest.approx(0.7)
    assert schedule.bound(5, SECOND, alone=(0.3, 0.4), latency=0.1) == pytest.approx(0.8)


def test_the_ideal_of_a_full_bucket_is_the_bound_without_latency() -> None:
    schedule = Schedule.steady(10, capacity=20)
    assert schedule.ideal_makespan(20, SECOND + 0.3) == 0.0
    assert schedule.ideal_makespan(41, SECOND + 0.3) == pytest.approx(2.7)
    assert schedule.bound(41, SECOND + 0.3, alone=(), latency=0.0) == pytest.approx(2.7)


@pytest.mark.anyio
async def test_trips_are_the_latencies_the_simulator_injects(
    simulator_factory: SimulatorFactory,
) -> None:
    """The bound's lone round trips are the simulator's own draws, in order, after a warm-up."""
    clock = ManualClock(SECOND + 0.2)
    faults = Faults(seed=3, latency_seconds=1.0, jitter_seconds=0.3)
    sim = await simulator_factory(clock=clock, faults=faults)
    injected = []
    async with aiohttp.ClientSession() as http:
        for _ in range(4):
            before = clock.now()
            body = {"ClientId": sim.client_id, "ClientSecret": sim.client_secret}
            async with http.post(sim.api_root + "auth/token", json=body) as response:
                assert response.status == 200
            injected.append(clock.now() - before)
    alone, least = trips(faults, before=1, alone=3)
    assert alone == pytest.approx(injected[1:])
    assert least == pytest.approx(0.7)
    assert min(injected) >= least


async def oracle(
    clock: VirtualClock,
    server: Server,
    requests: int,
    alone: Sequence[float],
    there: Callable[[], float],
) -> float:
    """A greedy sender that knows the bucket: the lone requests one after another, then the rest
    all at once; a refused request aims its next attempt at the next refill. Its makespan."""
    started = clock.now()
    passed: list[float] = []

    async def send(latency: float) -> None:
        while True:
            await clock.sleep(latency)
            status, _ = server.handle("entities")
            if status == 200:
                passed.append(clock.now())
                return
            latency = there()
            await clock.sleep(math.floor(clock.now()) + 1 - latency - clock.now())

    async def run() -> None:
        for trip in alone:
            await send(trip)
        async with anyio.create_task_group() as tg:
            for _ in range(requests - len(alone)):
                tg.start_soon(send, there())

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        while len(passed) < requests:
            await clock.run(clock.now() + 1.0)
    return max(passed) - started


@dataclass(frozen=True)
class Case:
    """A schedule: ``drained`` of the burst taken just before ``offset`` into a second."""

    rate: int
    extra: int
    """The burst over the rate."""
    drained: float
    requests: int
    offset: float
    alone: tuple[float, ...]
    seed: int


cases = st.builds(
    Case,
    rate=st.integers(1, 20),
    extra=st.integers(0, 20),
    drained=st.floats(0, 1),
    requests=st.integers(2, 60),
    offset=st.floats(0, 0.999),
    alone=st.lists(st.floats(0, 2), max_size=2).map(tuple),
    seed=st.integers(0, 1_000),
)


def race(case: Case, spread: tuple[float, float]) -> tuple[float, float]:
    """(the bound, the oracle's makespan) for ``case``, every request but the lone ones taking
    a latency drawn evenly from ``spread``."""
    burst = case.rate + case.extra
    drained = round(case.drained * burst)
    started = SECOND + case.offset
    clock = VirtualClock(start=started)
    server = Server(clock, Limits(replenish_rate=case.rate, burst_capacity=burst))
    for _ in range(drained):
        server.handle("entities")
    rng = random.Random(case.seed)
    least, most = spread
    made = anyio.run(
        oracle,
        clock,
        server,
        case.requests,
        case.alone,
        lambda: rng.uniform(least, most),
        backend="asyncio",
    )
    bound = Schedule.steady(case.rate, burst).bound(
        case.requests, started, alone=case.alone, latency=least, level=(SECOND, burst - drained)
    )
    return bound, made


@settings(max_examples=40, deadline=None)
@given(case=cases, latency=st.floats(0, 1.5), jitter=st.floats(0, 0.5))
def test_no_sender_beats_the_bound(case: Case, latency: float, jitter: float) -> None:
    bound, made = race(case, (latency * (1 - jitter), latency * (1 + jitter)))
    assert bound <= made + 1e-9


@settings(max_examples=40, deadline=None)
@given(case=cases)
def test_the_bound_is_reached_where_only_lone_requests_take_time(case: Case) -> None:
    """Nothing on the way after the lone requests: the oracle spends each token at the moment
    it is given, which is what the bound counts (not some smaller figure)."""
    bound, made = race(case, (0.0, 0.0))
    assert made == pytest.approx(bound, abs=1e-9)
