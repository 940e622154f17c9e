"""The limiter over real HTTP against the simulator's Spring buckets (system clock, short runs)."""

from __future__ import annotations

import anyio
import pytest
from pydantic import SecretStr

from syncer.cloud.client import CloudClient
from syncer.model import ENTITIES, USERS
from syncer.settings import CloudSettings
from syncer.simulator import Limits
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio


@pytest.mark.slow
@pytest.mark.parametrize("keying", ["route", "client"])
async def test_learns_the_bucket_partition_from_the_simulator(
    simulator_factory: SimulatorFactory, keying: str
) -> None:
    """Per-route keying gives entities and users a bucket each: the limiter must notice and use
    both rates; with one bucket per client it must keep one. Nobody is refused much either way."""
    rate = 40
    sim = await simulator_factory(
        limits=Limits(replenish_rate=rate, burst_capacity=rate, keying=keying, auth_limited=False)
    )
    settings = CloudSettings(
        firm=sim.firm,
        base_url=sim.base_url,
        client_id=sim.client_id,
        client_secret=SecretStr(sim.client_secret),
        max_in_flight=16,
    )
    async with CloudClient.open(settings) as client:

        async def worker(index: int) -> None:
            kind = (ENTITIES, USERS)[index % 2]
            with anyio.move_on_after(4.0):
                while True:
                    await client.find_by_key(kind, f"nobody-{index}")

        async with anyio.create_task_group() as tg:
            for index in range(12):
                tg.start_soon(worker, index)
        partition = client.limiter_stats.partition
    stats = sim.control.snapshot_stats()
    assert partition == ("per-family" if keying == "route" else "shared")
    assert stats["denied"] <= 0.02 * stats["allowed"]
