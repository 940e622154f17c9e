"""Deferring firm jobs and reading their state: what ``syncer queue`` does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer
from sqlalchemy import column, select, table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.queue.app import FIRM_TASK, firm_job_options
from syncer.queue.schema import QUEUE_SCHEMA, outcomes

STATES: Final = {
    "todo": "queued",
    "doing": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "aborting": "aborting",
    "aborted": "aborted",
}
"""procrastinate's job status -> the state ``queue status`` shows."""

_jobs = table(
    "procrastinate_jobs",
    column("id"),
    column("task_name"),
    column("args", JSONB),
    column("status"),
    column("scheduled_at"),
    column("attempts"),
    schema=QUEUE_SCHEMA,
)


@dataclass(frozen=True, slots=True)
class Deferred:
    """A firm's job: its id, or ``None`` when one was already waiting (the queueing lock)."""

    firm: str
    job_id: int | None


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: int
    firm: str
    action: str
    state: str
    scheduled_at: datetime | None
    attempts: int
    worker: str | None
    exit_code: int | None
    run_id: int | None
    message: str | None


async def defer(
    app: procrastinate.App, firms: Iterable[str], action: str, at: datetime | None
) -> list[Deferred]:
    """Queue ``action`` for each firm, to start at ``at`` (or as soon as a worker is free).

    All firms in one statement (a fleet's hundreds of firms in one round trip). A firm that
    already has such a job waiting makes the statement fail whole (its queueing lock), so then
    each firm is queued on its own, and that one is reported as already queued.
    """
    jobs = [
        (firm, app.configure_task(FIRM_TASK, schedule_at=at, **firm_job_options(firm, action)))
        for firm in firms
    ]
    manager = app.job_manager
    try:
        made = await manager.batch_defer_jobs_async([job.make_new_job() for _, job in jobs])
    except AlreadyEnqueued:
        return [await _defer_one(firm, job) for firm, job in jobs]
    return [Deferred(firm, job.id) for (firm, _), job in zip(jobs, made, strict=True)]


async def _defer_one(firm: str, job: JobDeferrer) -> Deferred:
    try:
        return Deferred(firm, await job.defer_async())
    except AlreadyEnqueued:
        return Deferred(firm, None)


async def job_rows(engine: AsyncEngine, firms: Sequence[str], limit: int) -> list[JobRow]:
    """The newest ``limit`` firm jobs (of ``firms`` only, when given), newest first."""
    firm = _jobs.c.args["firm"].astext
    query = (
        select(
            _jobs.c.id,
            firm.label("firm"),
            _jobs.c.args["action"].astext.label("action"),
            _jobs.c.status,
            _jobs.c.scheduled_at,
            _jobs.c.attempts,
            outcomes.c.worker,
            outcomes.c.exit_code,
            outcomes.c.run_id,
            outcomes.c.message,
        )
        .select_from(_jobs.outerjoin(outcomes, outcomes.c.job_id == _jobs.c.id))
        .where(_jobs.c.task_name == FIRM_TASK)
        .order_by(_jobs.c.id.desc())
        .limit(limit)
    )
    if firms:
        query = query.where(firm.in_(firms))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        JobRow(
            row.id,
            row.firm,
            row.action,
            STATES.get(str(row.status), str(row.status)),
            row.scheduled_at,
            row.attempts,
            row.worker if row.status != "todo" else None,
            row.exit_code,
            row.run_id,
            row.message,
        )
        for row in rows
    ]
