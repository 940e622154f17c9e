"""Jobs of dead workers go back to the queue, so another worker resumes them.

procrastinate records a heartbeat per worker but leaves a dead worker's job in ``doing`` (and so
its firm's lock taken) until someone retries it. Every worker therefore runs ``keep_recovering``:
every ``every`` seconds it retries the jobs whose worker has sent no heartbeat for
``stalled_after`` seconds (procrastinate's ``get_stalled_jobs``/``retry_job``) and prunes those
workers. One worker at a time does a pass (a PostgreSQL advisory lock), so a job just handed back
and already taken by a live worker cannot be handed back a second time by a slower pass.
The retried job keeps its firm lock; the apply journal makes the rerun resume, not repeat.
"""

from __future__ import annotations

import hashlib

import procrastinate
from procrastinate.exceptions import ProcrastinateException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import Clock
from syncer.logs import get_logger

_PASS_LOCK = int.from_bytes(
    hashlib.sha256(b"syncer-queue:recovery").digest()[:8], "big", signed=True
)

log = get_logger(__name__)


async def recover_stalled(
    app: procrastinate.App, engine: AsyncEngine, stalled_after: float
) -> list[int]:
    """One pass: the ids of the jobs handed back (none when another worker holds the pass)."""
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PASS_LOCK}):
            return []
        try:
            manager = app.job_manager
            stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
            retried: list[int] = []
            for job in stalled:
                try:
                    await manager.retry_job(job)
                except ProcrastinateException as exc:  # finished or retried meanwhile
                    log.info("stalled job not retried", job_id=job.id, reason=str(exc))
                    continue
                assert job.id is not None
                retried.append(job.id)
                firm = job.task_kwargs.get("firm")
                log.warning(
                    "job of a dead worker handed back to the queue", job_id=job.id, firm=firm
                )
            await manager.prune_stalled_workers(stalled_after)
            return retried
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PASS_LOCK})
            await conn.commit()


async def keep_recovering(
    app: procrastinate.App, engine: AsyncEngine, *, stalled_after: float, every: float, clock: Clock
) -> None:
    """Run ``recover_stalled`` every ``every`` seconds until cancelled."""
    while True:
        await recover_stalled(app, engine, stalled_after)
        await clock.sleep(every)
