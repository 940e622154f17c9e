"""The limiter end to end: CloudClient over real HTTP on loopback against the simulator's buckets.

Client and simulator share one ``VirtualClock``. Time stands still while any exchange is on the
wire (``busy``) and moves only when every task waits for it, so a request costs no virtual time
however slow the machine is: the server sees the same seconds, and the limiter the same
responses, on an idle laptop and on a loaded 2-core CI box. The figures asserted on are the
simulator's own server-side counters.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from syncer.cloud.client import CloudClient
from syncer.model import ENTITIES, USERS, ObjectKind
from syncer.settings import CloudSettings
from syncer.simulator import Limits, RunningSimulator
from tests.cloud.virtual_time import VirtualClock
from tests.fixtures.simulator import SimulatorFactory, cloud_settings

pytestmark = pytest.mark.anyio

SECONDS = 24
STEADY_FROM = 12
"""Seconds of learning (first headers, boundary, partition) before utilisation is counted."""


def settings_for(sim: RunningSimulator, max_in_flight: int) -> CloudSettings:
    return cloud_settings(
        sim,
        max_in_flight=max_in_flight,
    )


async def hammer(
    clock: VirtualClock,
    client: CloudClient,
    kinds: tuple[ObjectKind, ...],
    workers: int,
    seconds: float = SECONDS,
) -> None:
    """``workers`` tasks looking objects up back to back for ``seconds`` of virtual time."""
    end = clock.now() + seconds

    def on_the_wire() -> bool:
        stats = client.stats
        return stats.requests > sum(stats.by_status.values()) + stats.connection_errors

    async def worker(index: int) -> None:
        kind = kinds[index % len(kinds)]
        while clock.now() < end:
            await client.find_by_key(kind, f"nobody-{index}")

    async with anyio.create_task_group() as tg:
        for index in range(workers):
            tg.start_soon(worker, index)
        await clock.run(end, busy=on_the_wire)
        tg.cancel_scope.cancel()


def allowed_between(stats: dict[str, Any], since: int, until: int) -> int:
    return sum(s["allowed"] for s in stats["per_second"] if since <= s["second"] < until)


@pytest.mark.parametrize("keying", ["route", "client"])
async def test_learns_the_bucket_partition_from_the_simulator(
    simulator_factory: SimulatorFactory, keying: str
) -> None:
    """Per-route keying gives entities and users a bucket each: the limiter must notice and use
    both rates; with one bucket per client it must keep one. Nobody is refused much either way."""
    rate = 10
    clock = VirtualClock()
    sim = await simulator_factory(
        clock=clock,
        limits=Limits(replenish_rate=rate, burst_capacity=rate, keying=keying, auth_limited=False),
    )
    start = math.floor(clock.now())
    async with CloudClient.open(settings_for(sim, 16), clock=clock) as client:
        await hammer(clock, client, (ENTITIES, USERS), workers=12)
        partition = client.limiter_stats.partition
    stats = sim.control.snapshot_stats()
    buckets = 2 if keying == "route" else 1
    assert partition == ("per-family" if keying == "route" else "shared")
    steady = allowed_between(stats, start + STEADY_FROM, start + SECONDS - 1)
    assert steady >= 0.9 * buckets * rate * (SECONDS - 1 - STEADY_FROM)
    assert stats["denied"] <= 0.02 * stats["allowed"]


@pytest.mark.parametrize(("rate", "burst"), [(10, 20), (10, 10), (20, 10), (8, 4)])
async def test_many_workers_use_the_rate_and_are_almost_never_refused(
    simulator_factory: SimulatorFactory, rate: int, burst: int
) -> None:
    """Bursts below the rate are ones Spring stores: with ``floor(burst / rate * 2) == 0`` it never
    stores the bucket, which then reports itself full to every request whatever is sent."""
    clock = VirtualClock()
    sim = await simulator_factory(
        clock=clock, limits=Limits(replenish_rate=rate, burst_capacity=burst, auth_limited=False)
    )
    start = math.floor(clock.now())
    async with CloudClient.open(settings_for(sim, 64), clock=clock) as client:
        await hammer(clock, client, (ENTITIES,), workers=48)
        assert client.stats.throttled == sim.control.snapshot_stats()["denied"]
    stats = sim.control.snapshot_stats()
    per_second = min(rate, burst)
    steady = allowed_between(stats, start + STEADY_FROM, start + SECONDS - 1)
    assert steady >= 0.95 * per_second * (SECONDS - 1 - STEADY_FROM)
    assert stats["denied"] <= 2
