"""The firm task a worker runs: which firm, how it ended, and what procrastinate should do next.

The job's own status says what the queue should do: a run that did its job (0, 2 changes pending,
3 rows rejected, 4 safety stop) succeeds; an interrupted run (stop signal) or one refused by the
run lock (75, e.g. a manual ``syncer apply`` running) is retried; anything else fails. The exit
code itself is in ``queue_outcomes`` and, for apply, in the run's ``syncer_runs`` row.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import procrastinate
import structlog
from croniter import croniter
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.types import TimeDeltaParams
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply import StopRequests
from syncer.clock import Clock
from syncer.cloud import SharedHttp
from syncer.errors import ConfigError, ExitCode, SyncerError
from syncer.logs import get_logger
from syncer.queue.app import FIRM_TASK, firm_job_options
from syncer.queue.metrics import write_last_runs
from syncer.queue.outcomes import record_end, record_start
from syncer.queue.runner import FirmResult, run_firm
from syncer.queue.stopping import RunningFirms
from syncer.settings import Firm
from syncer.store import SharedEngines

DONE: Final = frozenset(
    {ExitCode.OK, ExitCode.CHANGES_PENDING, ExitCode.ROWS_REJECTED, ExitCode.SAFETY_STOP}
)
"""Exit codes of a run that did its job: the queue's job succeeded."""

LOCKED_RETRY_SECONDS = 30
"""Seconds before a firm locked by a run outside the queue (`syncer apply`) is tried again."""
RETRY_ATTEMPTS = 50
"""After this many runs again (interrupted or locked), the job fails and waits for a person."""

log = get_logger(__name__)


class FirmJobFailed(SyncerError):
    """The firm's run ended with a failure code; the job is marked failed."""


class FirmJobAgain(SyncerError):
    """The run was interrupted or found the firm locked: the job goes back to the queue."""

    def __init__(self, message: str, *, retry_in: int) -> None:
        super().__init__(message)
        self.retry_in = retry_in


class RunAgain(BaseRetryStrategy):
    """An interrupted job is run again at once (by whichever worker is free); a locked firm
    after ``LOCKED_RETRY_SECONDS``; a failed one never (it needs a person)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, FirmJobAgain) or job.attempts >= RETRY_ATTEMPTS:
            return None
        return RetryDecision(retry_in=TimeDeltaParams(seconds=exception.retry_in))


def worker_label() -> str:
    """Who runs a job, as ``queue status`` shows it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class FirmJobs:
    """Runs the firm jobs of one worker process and records how each ended."""

    firms: Mapping[str, Firm]
    shared: SharedEngines
    """The worker's engines, one per database URL; the queue's own database among them."""
    queue_url: str
    clock: Clock
    running: RunningFirms = field(default_factory=RunningFirms)
    metrics_file: Path | None = None
    http: SharedHttp = field(default_factory=SharedHttp)
    """The worker's aiohttp sessions, one per API origin for all its firms' jobs."""

    async def __call__(self, context: JobContext, firm: str, action: str) -> dict[str, Any]:
        job_id = context.job.id
        assert job_id is not None
        with structlog.contextvars.bound_contextvars(firm=firm, job_id=job_id, action=action):
            await record_start(
                self.engine,
                job_id,
                firm=firm,
                action=action,
                worker=worker_label(),
                clock=self.clock,
            )
            log.info("job started")
            result = await self.running.run(job_id, lambda stops: self._run(firm, action, stops))
            await record_end(self.engine, job_id, result, self.clock)
            log.info("job finished", exit_code=result.exit_code, run_id=result.run_id)
            if self.metrics_file is not None and result.run_id is not None:
                await write_last_runs(self.metrics_file, list(self.firms.values()), self.shared)
        return job_verdict(result)

    async def _run(self, firm: str, action: str, stops: StopRequests) -> FirmResult:
        chosen = self.firms.get(firm)
        if chosen is None:
            known = ", ".join(sorted(self.firms))
            message = f"firm {firm!r} is not in this worker's configuration (has: {known})"
            return FirmResult(int(ExitCode.CONFIG), None, message)
        return await run_firm(chosen, action, stops, self.shared, self.http)

    @property
    def engine(self) -> AsyncEngine:
        """The queue database's engine (outcomes of jobs, recovery of dead workers' jobs)."""
        return self.shared.get(self.queue_url).engine


def job_verdict(result: FirmResult) -> dict[str, Any]:
    """The job's result for procrastinate, or the exception that makes it retry or fail."""
    summary = {"exit_code": result.exit_code, "run_id": result.run_id}
    if result.exit_code in DONE:
        return summary
    message = result.message or f"exit {result.exit_code}"
    if result.exit_code > 128:
        raise FirmJobAgain(message, retry_in=0)
    if result.exit_code == ExitCode.LOCKED:
        raise FirmJobAgain(message, retry_in=LOCKED_RETRY_SECONDS)
    raise FirmJobFailed(message)


def register_firm_task(
    app: procrastinate.App, run: Callable[[JobContext, str, str], Awaitable[dict[str, Any]]]
) -> procrastinate.tasks.Task[Any, Any, Any]:
    """The firm task on ``app``: interrupted or locked runs are retried, others are not."""

    async def firm_job(
        context: JobContext, firm: str, action: str, timestamp: int | None = None
    ) -> dict[str, Any]:
        # ``timestamp`` is the slot of a scheduled run (procrastinate passes it); unused.
        return await run(context, firm, action)

    task: procrastinate.tasks.Task[Any, Any, Any] = app.task(
        name=FIRM_TASK, pass_context=True, retry=RunAgain()
    )(firm_job)
    return task


def register_schedules(
    app: procrastinate.App,
    task: procrastinate.tasks.Task[Any, Any, Any],
    schedules: Mapping[str, str],
) -> None:
    """One periodic apply per firm with a ``schedule``; the database keeps one job per slot."""
    for firm, cron in schedules.items():
        if not croniter.is_valid(cron):
            raise ConfigError(f"firm {firm}: schedule {cron!r} is not a valid cron line")
        app.periodic(cron=cron, periodic_id=firm, **firm_job_options(firm, "apply"))(task)
