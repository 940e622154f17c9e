"""``syncer queue apply|plan [--firm NAME]... [--at TIME]`` and ``syncer queue status``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click
import procrastinate

from syncer.cli.context import pass_settings, run
from syncer.queue.app import FIRM_ACTIONS, build_app, queue_database_url, queue_errors
from syncer.queue.jobs import JobRow, defer, job_rows
from syncer.settings import Settings
from syncer.store import create_engine
from syncer.store.schema import require_current_schema

T = TypeVar("T")


@click.group(name="queue")
def command() -> None:
    """Queue firm jobs for `syncer worker` processes, and show them (needs PostgreSQL)."""


def _defer_command(action: str) -> click.Command:
    @click.option("--firm", "firms", multiple=True, help="This firm only (repeatable).")
    @click.option(
        "--at",
        type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
        default=None,
        help="Start no earlier than this time (UTC), e.g. 2026-12-24T02:30.",
    )
    @pass_settings
    def defer_action(settings: Settings, *, firms: tuple[str, ...], at: datetime | None) -> None:
        start = at.replace(tzinfo=UTC) if at is not None else None

        async def go(app: procrastinate.App) -> int:
            names = [f.name for name in firms or (None,) for f in settings.select_firms(name)]
            for deferred in await defer(app, names, action, start):
                state = f"job {deferred.job_id}" if deferred.job_id else "already queued"
                click.echo(f"{deferred.firm}\t{action}\t{state}")
            return 0

        run(lambda: _with_queue(settings, go))

    defer_action.__doc__ = (
        f"Queue `{action}` for every firm (or each --firm); a firm already waiting for one is "
        "left as it is."
    )
    return click.command(name=action)(defer_action)


for _action in FIRM_ACTIONS:
    command.add_command(_defer_command(_action))


@command.command()
@click.option("--firm", "firms", multiple=True, help="This firm only (repeatable).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@pass_settings
def status(settings: Settings, *, firms: tuple[str, ...], limit: int) -> None:
    """Each job, newest first: firm, action, state (queued, running, done, failed), the worker
    that ran it, its exit code and its run id (see `syncer runs`)."""

    async def go(_app: procrastinate.App) -> int:
        engine = create_engine(queue_database_url(settings))
        try:
            rows = await job_rows(engine, firms, limit)
        finally:
            await engine.dispose()
        click.echo("job\tfirm\taction\tstate\tworker\texit\trun\tmessage")
        for row in rows:
            click.echo(_line(row))
        return 0

    run(lambda: _with_queue(settings, go))


def _line(row: JobRow) -> str:
    cells = (row.job_id, row.firm, row.action, row.state, row.worker, row.exit_code, row.run_id)
    shown = ["-" if cell is None else str(cell) for cell in cells]
    return "\t".join([*shown, row.message or ""])


async def _with_queue(settings: Settings, work: Callable[[procrastinate.App], Awaitable[T]]) -> T:
    """Run ``work`` with the queue open, after checking the database is PostgreSQL and current."""
    url = queue_database_url(settings)
    async with queue_errors():
        engine = create_engine(url)
        try:
            await require_current_schema(engine)
        finally:
            await engine.dispose()
        async with build_app(url, max_connections=2).open_async() as app:
            return await work(app)
