"""Sessions the server ends early, end to end: CloudClient over loopback HTTP in virtual time."""

from __future__ import annotations

import pytest

from syncer.cloud.client import CloudClient
from syncer.model import ENTITIES, USERS
from syncer.simulator import Limits
from tests.cloud.test_limiter_e2e import hammer, settings_for
from tests.cloud.virtual_time import VirtualClock
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio

RATE = 10


async def refusals_and_renewals(simulator_factory: SimulatorFactory, seconds: int) -> list[int]:
    """401s and ``auth/token`` calls of a run against sessions that end after 8 s."""
    clock = VirtualClock()
    sim = await simulator_factory(
        clock=clock,
        token_lifetime_seconds=8.0,
        limits=Limits(replenish_rate=RATE, burst_capacity=2 * RATE, auth_limited=False),
    )
    async with CloudClient.open(settings_for(sim, 16), clock=clock) as client:
        await hammer(clock, client, (ENTITIES, USERS), workers=16, seconds=seconds)
        stats = client.stats
    server = sim.control.snapshot_stats()
    assert stats.unauthorized == server["unauthorized"]
    assert server["allowed"] >= 0.9 * RATE * seconds
    return [server["unauthorized"], stats.auth_calls]


async def test_a_token_that_dies_early_costs_401s_once_however_long_the_run(
    simulator_factory: SimulatorFactory,
) -> None:
    """The server ends sessions after 8 s, not the 30 min syncer believes. The first 401 ends the
    token for every request (those queued at the limiter wait for the one renewal instead of
    spending a request each on a 401), and its age teaches the pool to renew before it: each
    expiry used to cost 10-12 401s. What is left are the requests already on the wire when the
    first token died: paced, they are few (they used to leave together at a credit, seven of
    them); the target is three, however long the run."""
    short, _ = await refusals_and_renewals(simulator_factory, 30)
    long, long_renewals = await refusals_and_renewals(simulator_factory, 90)
    assert long == short
    assert long <= 3
    assert long_renewals <= 2 + 90 / 5  # renewed before each 8 s, not much more often
    assert long_renewals >= 90 / 8
