"""``syncer worker [--concurrency N] [--firm NAME]...``: run firm jobs from the queue."""

from __future__ import annotations

from pathlib import Path

import click

from syncer.cli.context import pass_settings, run
from syncer.queue.worker import WorkerOptions, run_worker
from syncer.settings import Settings


@click.command(name="worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Firm jobs run at once by this process.",
)
@click.option(
    "--firm",
    "firms",
    multiple=True,
    help="Run only this firm's jobs and schedule (repeatable); default: every firm.",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds between this worker's heartbeats (and its checks for dead workers).",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(0.5, 86_400),
    default=60.0,
    show_default=True,
    help="A worker without a heartbeat for this long is dead: its jobs are run again.",
)
@click.option(
    "--metrics-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="After each apply, rewrite this Prometheus text file with the last finished apply of "
    "every firm this worker serves (whichever worker ran it).",
)
@click.option(
    "--database-connections",
    type=click.IntRange(2, 1000),
    default=None,
    help="Connections to each database at most, shared by the firms this worker runs (their "
    "run locks hold one between them); opened as needed. Default: concurrency + 2, at most 10.",
)
@pass_settings
def command(
    settings: Settings,
    *,
    concurrency: int,
    firms: tuple[str, ...],
    heartbeat: float,
    stalled_after: float,
    metrics_file: Path | None,
    database_connections: int | None,
) -> None:
    """Run queued and scheduled firm jobs until stopped (needs PostgreSQL).

    Start as many workers as you like, on any machines sharing the database: a firm never runs
    twice at once, each schedule slot runs once, and the job of a worker that died is run again
    by another once the worker is known dead. SIGTERM: take no new job, stop the running firms as
    `syncer apply` stops (they go back to the queue and resume), exit 0.
    Exit codes: 78 not PostgreSQL or bad schedule, 64 unknown firm, 1 database error.

    \b
    Examples:
      syncer worker --concurrency 8
      syncer worker --firm acme --firm beta
    """
    options = WorkerOptions(
        concurrency, firms, heartbeat, stalled_after, metrics_file, database_connections
    )
    run(lambda: run_worker(settings, options))
