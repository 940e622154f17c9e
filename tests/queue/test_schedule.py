"""A firm's schedule with three workers: each slot runs once, not once per worker."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.store.db import create_engine
from tests.fixtures.simulator import SimulatorFactory
from tests.queue.support import wait_for, workers, write_config

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]

EVERY_TWO_SECONDS = "* * * * * */2"
"""A sixth field counts seconds: a fast schedule instead of a nightly one."""


async def test_a_schedule_fires_once_per_slot_with_three_workers(
    simulator_factory: SimulatorFactory, migrated_postgres_url: str, tmp_path: Path
) -> None:
    sims = {"timed": await simulator_factory(firm="timed"), "idle": await simulator_factory()}
    fleet = write_config(
        tmp_path / "firms.toml", migrated_postgres_url, sims, {"timed": EVERY_TWO_SECONDS}
    )
    engine = create_engine(migrated_postgres_url)

    async def rows(query: str) -> list[sa.Row[object]]:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.text(query))).all())

    jobs_query = (
        "SELECT j.id, j.args->>'firm' AS firm, (j.args->>'timestamp')::bigint AS slot, "
        "j.status, o.run_id FROM syncer_queue.procrastinate_jobs j "
        "LEFT JOIN syncer_queue.queue_outcomes o ON o.job_id = j.id"
    )
    try:
        async with workers(fleet, 3, tmp_path, "--concurrency", "1"):

            async def three_slots_done() -> bool:
                done = [row for row in await rows(jobs_query) if row.status == "succeeded"]
                return len(done) >= 3

            await wait_for(three_slots_done)
        jobs = await rows(jobs_query)
        run_ids = await rows("SELECT id, firm FROM syncer_runs")
    finally:
        await engine.dispose()

    assert {row.firm for row in jobs} == {"timed"}, "only the firm with a schedule runs"
    per_slot = Counter(row.slot for row in jobs)
    assert set(per_slot.values()) == {1}, f"a slot ran more than once: {per_slot}"
    assert all(slot % 2 == 0 for slot in per_slot), "slots are the schedule's, every 2 s"
    finished = [row.run_id for row in jobs if row.status == "succeeded"]
    assert len(set(finished)) == len(finished) >= 3, "one run per slot"
    assert {row.id for row in run_ids} >= set(finished)
