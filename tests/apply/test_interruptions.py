"""A real ``syncer apply`` process killed (SIGKILL) or stopped (SIGTERM) mid-run, then resumed.

The simulator runs in the test's event loop with a slow rate limit so the run is still going
when the signal lands; the resume runs in-process. Ground truth is the simulator's count of
creates per key: any value above 1 is a duplicate.
"""

from __future__ import annotations

import signal
import sys

import anyio
import pytest
from sqlalchemy import select

from syncer.errors import ExitCode
from syncer.simulator import Limits
from syncer.store.db import create_engine
from syncer.store.tables import changes, runs
from syncer.usecases import ApplyOptions, apply_firm
from tests.apply.support import (
    CATEGORIES,
    assert_one_per_category,
    clients_with_addresses,
    creates,
    entity,
    env_for,
    fill,
    objects,
    settings_for,
    wait_until,
)
from tests.fixtures.simulator import SimulatorFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

N = 24
CLIENTS = 8


async def _interrupt_and_resume(
    simulator_factory: SimulatorFactory, url: str, how: signal.Signals
) -> tuple[int | None, list[str], list[str]]:
    """Start ``syncer apply`` as a process, send ``how`` once some creates landed, resume."""
    sim = await simulator_factory(limits=Limits(replenish_rate=5, burst_capacity=5))
    await fill(url, {"entities": [entity(n) for n in range(1, N + 1)]})
    command = [sys.executable, "-m", "syncer", "apply", "--max-in-flight", "4"]
    async with await anyio.open_process(command, env=env_for(sim, url)) as process:
        await wait_until(lambda: len(creates(sim, "entities")) >= 4)
        process.send_signal(how)
        with anyio.fail_after(20):
            code = await process.wait()
    assert len(objects(sim, "entities")) < N, "the run finished before the signal"

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            left_open = (await conn.scalars(select(changes.c.status))).all()
        sim.control.set_limits(replenish_rate=1000, burst_capacity=1000)
        result = await apply_firm(settings_for(sim, url), ApplyOptions())
        assert result.exit_code == ExitCode.OK, result.message
        async with engine.connect() as conn:
            statuses = (await conn.scalars(select(runs.c.status).order_by(runs.c.id))).all()
    finally:
        await engine.dispose()
    assert sorted(o["EntityNo"] for o in objects(sim, "entities")) == [
        f"C-{n:04d}" for n in range(1, N + 1)
    ]
    assert set(creates(sim, "entities").values()) == {1}, "no key may be created twice"
    return code, list(left_open), list(statuses)


async def test_kill_9_mid_run_then_resume_creates_nothing_twice(
    simulator_factory: SimulatorFactory, migrated_database_url: str
) -> None:
    code, _, statuses = await _interrupt_and_resume(
        simulator_factory, migrated_database_url, signal.SIGKILL
    )
    assert code == -signal.SIGKILL
    assert statuses == ["interrupted", "succeeded"]


async def test_sigterm_lets_requests_in_flight_finish_and_exits_cleanly(
    simulator_factory: SimulatorFactory, migrated_database_url: str
) -> None:
    code, left_open, statuses = await _interrupt_and_resume(
        simulator_factory, migrated_database_url, signal.SIGTERM
    )
    assert code == 128 + signal.SIGTERM
    assert "sent" not in left_open, "every request in flight was recorded"
    assert "skipped" in left_open
    assert statuses == ["interrupted", "succeeded"]


async def test_kill_9_during_address_creates_then_resume_creates_no_address_twice(
    simulator_factory: SimulatorFactory, migrated_database_url: str
) -> None:
    sim = await simulator_factory(limits=Limits(replenish_rate=5, burst_capacity=5))
    await fill(migrated_database_url, clients_with_addresses(CLIENTS))
    command = [sys.executable, "-m", "syncer", "apply", "--max-in-flight", "4"]
    async with await anyio.open_process(
        command, env=env_for(sim, migrated_database_url)
    ) as process:
        await wait_until(lambda: len(objects(sim, "addresses")) >= 4)
        process.send_signal(signal.SIGKILL)
        with anyio.fail_after(20):
            assert await process.wait() == -signal.SIGKILL
    assert len(objects(sim, "addresses")) < CLIENTS * len(CATEGORIES), "finished before the kill"

    sim.control.set_limits(replenish_rate=1000, burst_capacity=1000)
    result = await apply_firm(settings_for(sim, migrated_database_url), ApplyOptions())

    assert result.exit_code == ExitCode.OK, result.message
    assert_one_per_category(sim, CLIENTS)
