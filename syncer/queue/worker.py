"""``syncer worker``: one process running firm jobs from the queue, ``concurrency`` at a time.

Besides procrastinate's worker (fetching jobs, heartbeats, periodic schedules) the process runs
the recovery of dead workers' jobs and its own signal handling: SIGINT/SIGTERM stop fetching and
stop the running firms as ``syncer apply`` stops (``RunningFirms``); the interrupted jobs return
to the queue. procrastinate's stdlib log lines are forwarded to syncer's structlog output.
"""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import procrastinate
from procrastinate.worker import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply import STOP_SIGNALS, heap_frozen
from syncer.clock import Clock, SystemClock
from syncer.concurrency import task_group
from syncer.errors import SyncerError
from syncer.logs import get_logger
from syncer.queue.app import build_app, firm_queue, queue_database_url, queue_errors
from syncer.queue.firmjob import FirmJobs, register_firm_task, register_schedules, worker_label
from syncer.queue.recovery import keep_recovering
from syncer.settings import Firm, Settings
from syncer.store import SharedEngines
from syncer.store.schema import require_current_schema

log = get_logger(__name__)


WORKING_CONNECTIONS = 8
"""Connections for the firms' work by default, however many firms run: a firm in flight needs
one only to read, plan, begin and close its run, and its requests' journal writes share the
worker's group transactions (``apply.journal_writes``, at most four at once, a few milliseconds
each), so eight serve a worker's CPU at full speed while a fleet of four such workers stays
well inside PostgreSQL's default ``max_connections = 100``."""


COLLECTOR_THRESHOLDS = (50_000, 10, 10)
"""The worker's cyclic garbage collector (``gc.set_threshold``): its youngest generation is
collected every 50,000 net allocations of container objects rather than Python's default 700.
Fifty firms in flight allocate requests, answers, tasks and journal rows at a thousand requests
a second, and each young collection walked every survivor since the last: with the default,
collections took about a tenth of the CPU of fifty 60-create jobs run at once in one process
(0.35-0.45 s of 3.5-3.8 s: ~400 young collections at ~0.45 ms and ~35 middle ones at ~4.5 ms),
0.06 s with this. Cyclic garbage waits longer for its collection: up to 50,000 objects, a few
MiB; the bench's peak memory per firm in flight stayed 0.4-0.8 MiB (``bench/results/scale.md``)."""


@contextmanager
def tuned_collector() -> Iterator[None]:
    """While the worker works: collect once, then collect less often (``COLLECTOR_THRESHOLDS``)
    and keep what start-up made frozen (modules, settings, tables, the queue's app: alive for the
    life of the process, no collection needs to walk them again). The freeze is ``apply.heap``'s
    own, held for the worker's life: each job's run nests inside it, so the last job to end no
    longer unfreezes start-up's heap, and it stays frozen between jobs."""
    gc.collect()
    before = gc.get_threshold()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        with heap_frozen():
            yield
    finally:
        gc.set_threshold(*before)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    concurrency: int = 4
    firms: tuple[str, ...] = ()
    """Only these firms' jobs and schedules; empty: every firm."""
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 60.0
    """A worker silent this long is dead: its jobs go back to the queue."""
    metrics_file: Path | None = None
    database_connections: int | None = None
    """Connections this process opens to a database at most (run locks included); default
    one per firm in flight up to ``WORKING_CONNECTIONS``, plus one holding the run locks and one
    for the queue's bookkeeping. Opened as needed: firms waiting for Cloud hold none."""

    @property
    def connections(self) -> int:
        working = min(self.concurrency, WORKING_CONNECTIONS)
        return self.database_connections or working + 2


async def run_worker(settings: Settings, options: WorkerOptions, clock: Clock | None = None) -> int:
    """Run until a stop signal; 0 once the running jobs stopped and went back to the queue."""
    url = queue_database_url(settings)
    chosen = _chosen_firms(settings, options.firms)
    app = build_app(url, max_connections=options.concurrency + 4)
    shared = SharedEngines(options.connections)
    engine = shared.get(url).engine
    chosen_clock = clock or SystemClock()
    jobs = FirmJobs(
        {firm.name: firm for firm in chosen},
        shared,
        url,
        chosen_clock,
        metrics_file=options.metrics_file,
    )
    _forward_procrastinate_logs()
    try:
        task = register_firm_task(app, jobs)
        register_schedules(app, task, _schedules(settings, jobs.firms))
        async with queue_errors():
            await require_current_schema(engine)
            async with app.open_async():
                with tuned_collector():
                    await _work(app, engine, jobs, options, chosen_clock)
    finally:
        try:
            await jobs.http.close()
        finally:
            await shared.dispose()  # the engines even when closing a session failed
    if jobs.running.received is None:
        raise WorkerStopped("the worker stopped after an error of the queue (see the log above)")
    log.info("worker stopped", signal=jobs.running.received.name)
    return 0


async def _work(
    app: procrastinate.App,
    engine: AsyncEngine,
    jobs: FirmJobs,
    options: WorkerOptions,
    clock: Clock,
) -> None:
    """procrastinate's worker beside the signal watcher and the recovery of dead workers' jobs;
    returns when the worker stopped (a signal, or a failure of one of its own tasks)."""
    worker = Worker(
        app,
        queues=[firm_queue(name) for name in options.firms] or None,
        name=worker_label(),
        concurrency=options.concurrency,
        install_signal_handlers=False,
        update_heartbeat_interval=options.heartbeat_seconds,
        stalled_worker_timeout=options.stalled_after_seconds,
        fetch_job_polling_interval=options.heartbeat_seconds,
    )
    recovery = partial(
        keep_recovering,
        app,
        engine,
        stalled_after=options.stalled_after_seconds,
        every=options.heartbeat_seconds,
        clock=clock,
    )
    async with task_group() as tg:
        # Started once its signal handlers are in: from "worker started" on, SIGTERM stops the
        # worker cleanly (exit 0) rather than killing it.
        await tg.start(_stop_on_signal, worker, jobs)
        tg.start_soon(recovery)
        log.info("worker started", concurrency=options.concurrency, firms=len(jobs.firms))
        await worker.run()  # type: ignore[no-untyped-call]  # procrastinate: untyped
        tg.cancel_scope.cancel()


def _chosen_firms(settings: Settings, names: Iterable[str]) -> tuple[Firm, ...]:
    wanted = tuple(names)
    if not wanted:
        return settings.select_firms()
    return tuple(firm for name in wanted for firm in settings.select_firms(name))


def _schedules(settings: Settings, chosen: Iterable[str]) -> dict[str, str]:
    names = set(chosen)
    return {f.name: f.schedule for f in settings.firms if f.schedule and f.name in names}


async def _stop_on_signal(
    worker: Worker,
    jobs: FirmJobs,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        task_status.started()
        async for signum in signals:
            log.warning(
                "stopping: no new job; running firms stop as apply does", signal=signum.name
            )
            worker.stop()  # type: ignore[no-untyped-call]
            jobs.running.stop_all(signal.Signals(signum))


class WorkerStopped(SyncerError):
    """procrastinate stopped the worker itself (e.g. its connection to the database broke)."""


class _ToStructlog(logging.Handler):
    """One structlog line per procrastinate record, without its traceback."""

    def emit(self, record: logging.LogRecord) -> None:
        get_logger(record.name).log(record.levelno, record.getMessage())


def _forward_procrastinate_logs() -> None:
    logger = logging.getLogger("procrastinate")
    if not any(isinstance(h, _ToStructlog) for h in logger.handlers):
        logger.addHandler(_ToStructlog())
    logger.setLevel(logging.WARNING)
    logger.propagate = False
