"""Fault injection: seeded determinism, errors and drops before or after the write, delays."""

from __future__ import annotations

import aiohttp
import pytest

from syncer.clock import ManualClock
from syncer.simulator import Faults
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def started(
    factory: SimulatorFactory, http: aiohttp.ClientSession, **faults: object
) -> tuple[Api, ManualClock]:
    """A simulator with a token already issued, then the faults switched on."""
    clock = ManualClock()
    api = Api(http, await factory(clock=clock))
    await api.authenticate()
    api.running.control.set_faults(Faults.model_validate(faults))
    return api, clock


async def statuses(api: Api, n: int) -> list[int]:
    return [(await api.call("GET", "roles")).status for _ in range(n)]


async def test_errors_are_deterministic_per_seed(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    runs = []
    for seed in (7, 7, 8):
        api, _ = await started(simulator_factory, http, seed=seed, error_share=0.4)
        runs.append(await statuses(api, 40))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {200, 500, 503}


async def test_resetting_the_faults_restarts_the_sequence(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await started(simulator_factory, http, seed=3, error_share=0.5)
    first = await statuses(api, 20)
    assert (await api.control("PATCH", "faults", {"seed": 3})).status == 200
    assert await statuses(api, 20) == first


async def test_injected_error_before_the_write_changes_nothing(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await started(simulator_factory, http, error_share=1.0, error_statuses=[503])
    reply = await api.call("POST", "groups", json={"Name": "G"})
    assert reply.status == 503
    assert reply.json["message"]
    assert reply.limit_headers()["x-ratelimit-remaining"].isdigit()
    assert api.running.control.dump()["objects"]["groups"] == []


async def test_injected_error_after_the_write_hides_a_done_create(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await started(
        simulator_factory, http, error_share=1.0, error_statuses=[503], after_write=True
    )
    assert (await api.call("POST", "groups", json={"Name": "G"})).status == 503
    api.running.control.set_faults(Faults())
    found = await api.call("GET", "groups", params={"search": "Name = 'G'"})
    assert [g["Name"] for g in found.json] == ["G"]
    assert (await api.call("POST", "groups", json={"Name": "G"})).status == 409


@pytest.mark.parametrize(("after_write", "created"), [(False, 0), (True, 1)])
async def test_dropped_connection(
    simulator_factory: SimulatorFactory,
    http: aiohttp.ClientSession,
    after_write: bool,
    created: int,
) -> None:
    api, _ = await started(simulator_factory, http, drop_share=1.0, after_write=after_write)
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("POST", "groups", json={"Name": "G"})
    sim = api.running.control
    assert len(sim.dump()["objects"]["groups"]) == created
    stats = sim.snapshot_stats()
    assert stats["events"]["dropped"] == 1
    assert stats["by_route"]["POST groups"] == {"599": 1}
    sim.set_faults(Faults())
    assert (await api.call("GET", "groups")).status == 200  # the server carries on


async def test_latency_jitter_and_slow_responses_use_the_server_clock(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    delays = []
    for _ in range(2):
        api, clock = await started(
            simulator_factory, http, seed=1, latency_seconds=2.0, jitter_seconds=0.5
        )
        before = clock.now()
        await api.call("GET", "roles")
        delays.append(clock.now() - before)
    assert delays[0] == delays[1]
    assert 1.5 <= delays[0] <= 2.5

    api, clock = await started(simulator_factory, http, slow_share=1.0, slow_seconds=30)
    before = clock.now()
    assert (await api.call("GET", "roles")).status == 200
    assert clock.now() - before == 30


async def test_faults_control_plane_validates(api: Api) -> None:
    assert (await api.control("PATCH", "faults", {"error_share": 2})).status == 400
    reply = await api.control("PATCH", "faults", {"error_share": 0.1, "seed": 9})
    assert (reply.status, reply.json["error_share"], reply.json["seed"]) == (200, 0.1, 9)
    assert (await api.control("GET", "faults")).json["seed"] == 9
