"""Three real ``syncer worker`` processes, twelve firms on their own simulators, one worker killed
with SIGKILL in the middle of a firm: every firm still ends as desired, nothing is created twice,
no firm ever had two runs at once, and every firm's run is in ``syncer_runs``."""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from syncer.simulator import Limits
from syncer.store.db import create_engine
from syncer.store.tables import runs
from tests.apply.support import creates, entity, fill, objects
from tests.fixtures.simulator import SimulatorFactory
from tests.queue.support import job_states, wait_for, worker_of, workers, write_config

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]

FIRMS = [f"f{n:02d}" for n in range(1, 13)]
N = 12
SLOW = Limits(replenish_rate=6, burst_capacity=3)
"""Slow enough that a firm is still running when its worker is killed."""


async def test_twelve_firms_three_workers_one_killed(
    simulator_factory: SimulatorFactory, migrated_postgres_url: str, tmp_path: Path
) -> None:
    desired = [entity(n) for n in range(1, N + 1)]
    await fill(
        migrated_postgres_url, {"entities": desired}
    )  # the same desired state for every firm
    sims = {name: await simulator_factory(firm=name, limits=SLOW) for name in FIRMS}
    fleet = write_config(tmp_path / "firms.toml", migrated_postgres_url, sims, {})
    engine = create_engine(migrated_postgres_url)
    try:
        async with workers(fleet, 3, tmp_path, "--concurrency", "4") as procs:
            queued = await anyio.run_process(fleet.command("queue", "apply"), env=fleet.env())
            assert queued.stdout.decode().count("\tapply\tjob ") == len(FIRMS)

            async def victim_mid_firm() -> bool:
                running = worker_of(procs[0], await job_states(engine))
                return any(0 < len(creates(sims[row.firm], "entities")) < N for row in running)

            await wait_for(victim_mid_firm)
            procs[0].kill()
            await procs[0].wait()
            async with engine.connect() as conn:
                killed_at = await conn.scalar(sa.text("SELECT now()"))

            async def all_done() -> bool:
                states = await job_states(engine)
                return len(states) == len(FIRMS) and {r.status for r in states} == {"succeeded"}

            await wait_for(all_done)
            status = await anyio.run_process(fleet.command("queue", "status"), env=fleet.env())
        async with engine.connect() as conn:
            run_rows = (await conn.execute(sa.select(runs).order_by(runs.c.id))).all()
    finally:
        await engine.dispose()

    for name, sim in sims.items():
        assert sorted(o["EntityNo"] for o in objects(sim, "entities")) == [
            row["entity_no"] for row in desired
        ], name
        assert set(creates(sim, "entities").values()) == {1}, f"{name}: a key created twice"

    by_firm: dict[str, list[sa.Row[object]]] = {name: [] for name in FIRMS}
    for row in run_rows:
        by_firm[row.firm].append(row)
    for name, firm_runs in by_firm.items():
        assert firm_runs, name
        assert firm_runs[-1].status == "succeeded", name
        assert firm_runs[-1].exit_code == 0
        for earlier, later in itertools.pairwise(firm_runs):
            # The killed run's row was never closed by its worker: it ended at the kill.
            ended = earlier.finished_at if earlier.status != "interrupted" else killed_at
            assert ended <= later.started_at, f"{name}: two runs at once"
    interrupted = [row.firm for row in run_rows if row.status == "interrupted"]
    assert len(interrupted) >= 1, "the killed worker was running a firm"

    lines = status.stdout.decode().splitlines()[1:]
    assert len(lines) == len(FIRMS)
    assert all("\tdone\t" in line and "\t0\t" in line for line in lines), lines


async def test_sigterm_stops_the_running_firm_which_another_worker_resumes(
    simulator_factory: SimulatorFactory, migrated_postgres_url: str, tmp_path: Path
) -> None:
    desired = [entity(n) for n in range(1, N + 1)]
    await fill(migrated_postgres_url, {"entities": desired})
    sim = await simulator_factory(firm="solo", limits=Limits(replenish_rate=4, burst_capacity=2))
    fleet = write_config(tmp_path / "firms.toml", migrated_postgres_url, {"solo": sim}, {})
    engine = create_engine(migrated_postgres_url)
    try:
        metrics = tmp_path / "textfile" / "syncer.prom"
        options = ("--concurrency", "1", "--metrics-file", str(metrics))
        async with workers(fleet, 2, tmp_path, *options) as procs:
            await anyio.run_process(fleet.command("queue", "apply"), env=fleet.env())

            async def running_with_creates() -> bool:
                states = await job_states(engine)
                busy = [p for p in procs if worker_of(p, states)]
                return bool(busy) and len(creates(sim, "entities")) >= 3

            await wait_for(running_with_creates)
            states = await job_states(engine)
            first = next(p for p in procs if worker_of(p, states))
            first.terminate()
            with anyio.fail_after(20):
                assert await first.wait() == 0
            assert len(objects(sim, "entities")) < N, "the run finished before the signal"

            async def done() -> bool:
                return [r.status for r in await job_states(engine)] == ["succeeded"]

            await wait_for(done)
        async with engine.connect() as conn:
            statuses = (await conn.scalars(sa.select(runs.c.status).order_by(runs.c.id))).all()
    finally:
        await engine.dispose()
    assert statuses == ["interrupted", "succeeded"]
    exit_codes = {
        sample.labels["firm"]: sample.value
        for family in text_string_to_metric_families(metrics.read_text())
        for sample in family.samples
        if sample.name == "syncer_last_run_exit_code"
    }
    assert exit_codes == {"solo": 0}, "the metrics hold the last finished run"
    assert sorted(o["EntityNo"] for o in objects(sim, "entities")) == [
        row["entity_no"] for row in desired
    ]
    assert set(creates(sim, "entities").values()) == {1}, "a key created twice"
