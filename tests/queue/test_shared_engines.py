"""A worker's firms share one engine per database: six firms in flight on two connections."""

from __future__ import annotations

import anyio
import pytest

from syncer.apply.stopping import StopRequests
from syncer.errors import ExitCode
from syncer.queue.runner import FirmResult, run_firm
from syncer.settings import Firm
from syncer.simulator.config import Faults
from syncer.store import SharedEngines
from tests.apply.support import creates, entity, fill, settings_for
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio

FIRMS = 6


async def test_six_firms_at_once_through_two_connections(
    simulator_factory: SimulatorFactory, migrated_postgres_url: str
) -> None:
    """Every firm holds its run lock for its whole run; on a connection each, six firms would
    need six. Sharing one session for the locks and a pool of one for the work, all six run at
    once (the answers' latency keeps them overlapping) and finish, with no create twice."""
    await fill(migrated_postgres_url, {"entities": [entity(n) for n in range(1, 6)]})
    slow = Faults(latency_seconds=0.05)
    sims = [await simulator_factory(firm=f"firm{n}", faults=slow) for n in range(FIRMS)]
    firms = [Firm(sim.firm, settings_for(sim, migrated_postgres_url)) for sim in sims]
    shared = SharedEngines(2, wait_seconds=30)
    advisory = shared.get(migrated_postgres_url).advisory
    results: dict[str, FirmResult] = {}
    most_locks = 0

    async def one(firm: Firm) -> None:
        results[firm.name] = await run_firm(firm, "apply", StopRequests(), shared)

    async def watch() -> None:
        nonlocal most_locks
        while True:
            most_locks = max(most_locks, len(advisory.held))
            await anyio.sleep(0.01)

    try:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                async with anyio.create_task_group() as firms_group:
                    for firm in firms:
                        firms_group.start_soon(one, firm)
                tg.cancel_scope.cancel()
    finally:
        await shared.dispose()
    assert {name: r.exit_code for name, r in results.items()} == {
        firm.name: ExitCode.OK for firm in firms
    }
    assert most_locks > 1, "the firms' runs overlapped, their locks on one session"
    for sim in sims:
        assert sorted(creates(sim, "entities").values()) == [1] * 5
