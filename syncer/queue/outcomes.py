"""Each job's worker and outcome, beside procrastinate's job row (which keeps no result)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import Clock, utc_now
from syncer.queue.runner import FirmResult
from syncer.queue.schema import outcomes


async def record_start(
    engine: AsyncEngine, job_id: int, *, firm: str, action: str, worker: str, clock: Clock
) -> None:
    """The job runs on ``worker`` from now; a retried job's earlier outcome is cleared."""
    values = {
        "firm": firm,
        "action": action,
        "worker": worker,
        "started_at": utc_now(clock),
        "finished_at": None,
        "exit_code": None,
        "run_id": None,
        "message": None,
    }
    statement = insert(outcomes).values(job_id=job_id, **values)
    async with engine.begin() as conn:
        await conn.execute(
            statement.on_conflict_do_update(index_elements=[outcomes.c.job_id], set_=values)
        )


async def record_end(engine: AsyncEngine, job_id: int, result: FirmResult, clock: Clock) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(outcomes)
            .where(outcomes.c.job_id == job_id)
            .values(
                finished_at=utc_now(clock),
                exit_code=result.exit_code,
                run_id=result.run_id,
                message=result.message,
            )
        )
