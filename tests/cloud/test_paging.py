"""Concurrent paging end to end: CloudClient over real HTTP against the simulator, virtual time.

The simulator's injected latency (with jitter) sleeps on the same ``VirtualClock`` as the client,
so pages answer out of order exactly as they would over a slow network, deterministically, and
time stands still while bytes are on the loopback wire.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest

from syncer.cloud.client import CloudClient
from syncer.cloud.in_flight import COLD_START, little_target
from syncer.cloud.paging import PageBounds, PagingStats, read_pages
from syncer.errors import CloudContractBroken
from syncer.model import ENTITIES
from syncer.settings import CloudSettings
from syncer.simulator import Limits, RunningSimulator
from syncer.simulator.config import Faults
from syncer.simulator.resources import SPECS
from tests.cloud.slow_wire import ServerClock, in_virtual_time
from tests.cloud.virtual_time import VirtualClock
from tests.fixtures.simulator import SimulatorFactory, cloud_settings

pytestmark = pytest.mark.anyio

PAGE = 10


def settings_for(sim: RunningSimulator, max_in_flight: int = 64) -> CloudSettings:
    return cloud_settings(
        sim,
        max_in_flight=max_in_flight,
        page_size=PAGE,
    )


async def seeded(
    factory: SimulatorFactory,
    clock: VirtualClock,
    count: int,
    *,
    latency: float,
    jitter: float,
    rate: int = 1000,
) -> RunningSimulator:
    faults = Faults(seed=3, latency_seconds=latency, jitter_seconds=jitter)
    limits = Limits(replenish_rate=rate, burst_capacity=rate)  # the token answer tells the rate
    sim = await factory(clock=ServerClock(clock), faults=faults, limits=limits)
    for n in range(count):
        sim.control.seed("entities", {"EntityNo": f"C-{n:04}", "Name": f"Client {n}"})
    return sim


def stored_guids(sim: RunningSimulator) -> list[str]:
    return [obj["CWGuid"] for obj in sim.control.store.all(SPECS["entities"])]


async def read_entities(
    clock: VirtualClock, sim: RunningSimulator, client: CloudClient, expected: int | None = None
) -> tuple[list[str], float]:
    server = sim.control.clock
    assert isinstance(server, ServerClock)
    work = lambda: client.list_objects(ENTITIES, expected=expected)  # noqa: E731
    objects, took = await in_virtual_time(clock, server, client.stats, work)
    return [obj.cwguid for obj in objects], took


@pytest.mark.parametrize("count", [0, 7, 50, 95])
async def test_pages_answering_out_of_order_are_read_completely_and_in_order(
    simulator_factory: SimulatorFactory, count: int
) -> None:
    """An empty list, one short page, an exact multiple of the page size (the empty page after
    it ends the list) and many pages, answering in any order under 250 ms +- 200 ms."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, count, latency=0.25, jitter=0.2)
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        guids, took = await read_entities(clock, sim, client)
        paging = client.paging
    assert guids == stored_guids(sim)
    assert len(guids) == count
    assert paging.pages == count // PAGE + 1
    assert took < 4 * 0.45  # one page after another would take count / 10 + 1 answers
    assert paging.past_end <= client.in_flight_target.cap


async def test_a_list_shrinking_while_read_ends_at_its_new_end(
    simulator_factory: SimulatorFactory,
) -> None:
    """Objects deleted from the end of the list while its pages are in flight: the read stops at
    the first short page, nothing comes twice, and what was never deleted is all there."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 95, latency=0.25, jitter=0.2)
    before = stored_guids(sim)
    kept = before[:35]
    async with CloudClient.open(settings_for(sim, max_in_flight=3), clock=clock) as client:

        async def shrink() -> None:
            await clock.sleep(0.6)
            for guid in before[35:]:
                sim.control.store.delete(SPECS["entities"], guid)

        async with anyio.create_task_group() as tg:
            tg.start_soon(shrink)
            guids, _ = await read_entities(clock, sim, client)
    assert guids[: len(kept)] == kept
    assert len(set(guids)) == len(guids)
    assert set(guids) <= set(before)
    assert len(guids) < len(before)  # the deletion did land while the list was being read


async def test_the_window_grows_with_latency_and_shrinks_when_it_falls(
    simulator_factory: SimulatorFactory,
) -> None:
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 95, latency=0.002, jitter=0.0, rate=100)
    windows: list[int] = []
    async with CloudClient.open(settings_for(sim, max_in_flight=512), clock=clock) as client:
        for latency in (0.002, 0.5, 0.002):
            sim.control.set_faults(latency_seconds=latency)
            for _ in range(8):  # enough answers to turn the high percentile over
                guids, _ = await read_entities(clock, sim, client)
                assert guids == stored_guids(sim)
            windows.append(client.in_flight_target.for_pages("entities"))
    fast, slow, fast_again = windows
    assert fast < 10
    assert slow > 5 * fast
    assert fast_again < 10


async def test_requests_in_flight_never_exceed_the_cap(
    simulator_factory: SimulatorFactory,
) -> None:
    """At 1 s Little's law wants hundreds of pages in flight; the cap holds them to eight."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 300, latency=1.0, jitter=0.3)
    async with CloudClient.open(settings_for(sim, max_in_flight=8), clock=clock) as client:
        guids, _ = await read_entities(clock, sim, client)
        assert client.in_flight_target.for_pages("entities") == 8
        peak = client.stats.peak_in_flight
    assert guids == stored_guids(sim)
    assert peak == 8


def test_the_target_is_small_at_0_ms_large_at_1_s_and_capped() -> None:
    assert little_target(None, None, cap=256) == COLD_START
    assert little_target(50, 0.001, cap=256) <= 3
    assert little_target(50, 1.0, cap=256) >= 60
    assert little_target(200, 1.3, cap=256) == 256
    assert little_target(200, 1.3, cap=1) == 1


async def test_a_cold_client_opens_the_window_as_soon_as_its_token_teaches_rate_and_latency(
    simulator_factory: SimulatorFactory,
) -> None:
    """Nothing known yet: the token's answer tells the rate and the latency; the family's first
    page goes alone (the limiter sends nothing more of a family whose cost no answer has shown
    yet), and its answer opens the whole window: token, first page, the rest, done in three
    latencies, not one latency per page."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 300, latency=1.0, jitter=0.0)
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        guids, took = await read_entities(clock, sim, client)
    assert guids == stored_guids(sim)
    assert took < 3.5


def _no_learning(_poke: object) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


async def test_a_longer_page_counts_as_full_and_a_repeated_page_is_a_broken_promise() -> None:
    """A server that answers more than ``pageSize`` objects goes on being read (as one page at
    a time read it); one that answers the same full page again ends the read (exit 76)."""
    lists = {1: [1, 2, 3], 2: [4, 5, 6], 3: [7]}

    async def longer(number: int) -> list[Any]:
        return list(lists.get(number, []))

    bounds = PageBounds(size=2, max_pages=10, where="GET entities")
    pages = await read_pages(
        longer, bounds, lambda _needed: 3, PagingStats(), small=False, learning=_no_learning
    )
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]

    async def same(_number: int) -> list[Any]:
        return [1, 2]

    with pytest.raises(CloudContractBroken, match="page 2 repeats page 1"):
        await read_pages(
            same, bounds, lambda _needed: 3, PagingStats(), small=False, learning=_no_learning
        )

    async def endless(number: int) -> list[Any]:
        return [number, number]

    with pytest.raises(CloudContractBroken, match=r"more than 10 pages \(cloud.max_pages\)"):
        await read_pages(
            endless, bounds, lambda _needed: 3, PagingStats(), small=False, learning=_no_learning
        )


@pytest.mark.parametrize(
    ("count", "expected", "past_end_at_most"),
    [
        (37, 37, 0),  # in step: the four pages it needs, and not one more
        (40, 40, 0),  # an exact multiple: the empty fifth page ends it
        (0, 0, 0),
        (95, 37, 64),  # longer than expected: the window opens once the four come back full
        (12, 37, 2),  # shorter: no worse than the pages expected
    ],
)
async def test_an_expected_length_keeps_the_window_to_the_pages_it_needs(
    simulator_factory: SimulatorFactory, count: int, expected: int, past_end_at_most: int
) -> None:
    """At 250 ms the window is several pages wide; a list read with the number of objects it
    should hold (desired state's rows) asks for no page past them, and still reads every page
    when it holds more."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, count, latency=0.25, jitter=0.2)
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        guids, _ = await read_entities(clock, sim, client, expected)
        paging = client.paging
    assert guids == stored_guids(sim)
    assert paging.pages == count // PAGE + 1
    assert paging.past_end <= past_end_at_most
    if count == 95:
        assert paging.past_end <= client.in_flight_target.cap


async def test_a_read_the_burst_holds_leaves_at_once_after_its_first_page(
    simulator_factory: SimulatorFactory,
) -> None:
    """101 pages, a full bucket of 200 at 200/s, 250 ms +- 30 %: once the first page has shown
    the family's cost, the other 100 all go at once (the bucket holds them), so the read takes
    two round trips. Little's law alone (200/s x the high latency x 1.25 + 2) kept at most 84
    in flight, the rest waiting a third round trip for the first answers."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 1000, latency=0.25, jitter=0.075, rate=200)
    async with CloudClient.open(settings_for(sim, max_in_flight=256), clock=clock) as client:
        server = sim.control.clock
        assert isinstance(server, ServerClock)
        await in_virtual_time(clock, server, client.stats, client.list_roles)  # rate, latency
        guids, took = await read_entities(clock, sim, client, expected=1000)
        peak = client.stats.peak_in_flight
    assert guids == stored_guids(sim)
    assert peak == 100
    assert took <= 2 * (0.25 + 0.075)
    assert sim.control.snapshot_stats()["denied"] == 0


async def test_the_roles_list_asks_for_no_page_past_its_end_once_the_window_is_wide(
    simulator_factory: SimulatorFactory,
) -> None:
    """A firm has a few dozen roles at most. Read after the client has learned a rate and a
    latency that make the window many pages wide (50/s at 250 ms), the roles list still asks for
    one page: a window's guesses past its end cost requests in every nightly run."""
    clock = VirtualClock()
    sim = await seeded(simulator_factory, clock, 300, latency=0.25, jitter=0.075, rate=50)
    roles = len(sim.control.store.all(SPECS["roles"]))
    assert 0 < roles < PAGE
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        server = sim.control.clock
        assert isinstance(server, ServerClock)
        await read_entities(clock, sim, client)  # the rate and the latency are known now
        assert client.in_flight_target.for_pages("roles") > 2
        before = client.paging.past_end
        found = await in_virtual_time(clock, server, client.stats, client.list_roles)
        past_end = client.paging.past_end - before
    assert len(found[0]) == roles
    assert past_end == 0
