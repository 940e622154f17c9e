"""``syncer runs [--last N]``: the run history, newest first."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from syncer.cli.context import pass_settings, run
from syncer.errors import ExitCode
from syncer.history import RunRecord, recent_runs
from syncer.settings import Settings
from syncer.store import create_engine, database_errors

WIDE = 240
SHOWN_STATUSES = ("done", "rejected", "failed", "skipped", "deferred", "blocked")


@click.command(name="runs")
@click.option(
    "--last",
    "last",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many runs to show.",
)
@click.option("--firm", default=None, help="Only this firm's runs (of [[firms]]; default: all).")
@pass_settings
def command(settings: Settings, last: int, firm: str | None) -> None:
    """List recent runs: when, how long, what they did, requests, 429s and the rates.

    \b
    Example:
      syncer runs --last 5
    """

    async def go() -> ExitCode:
        records: list[RunRecord] = []
        for url, firms in _databases(settings, firm).items():
            engine = create_engine(url)
            try:
                async with database_errors():
                    records += await recent_runs(engine, last=last, firms=firms)
            finally:
                await engine.dispose()
        records.sort(key=lambda r: r.started_at, reverse=True)
        console = Console()
        if not console.is_terminal:
            console = Console(width=WIDE)  # a file or a pipe: never truncate a column
        console.print(_table(records[:last]))
        return ExitCode.OK

    run(go)


def _databases(settings: Settings, name: str | None) -> dict[str, frozenset[str] | None]:
    """Database URL -> the Cloud firms whose runs to list there (None: every firm).

    Firms of a ``[[firms]]`` file may keep their bookkeeping in databases of their own.
    """
    if name is None and not settings.firms:
        return {settings.database.url: None}
    found: dict[str, set[str]] = {}
    for chosen in settings.select_firms(name, to_reach_cloud=False):
        found.setdefault(chosen.settings.database.url, set()).add(chosen.settings.cloud.firm)
    return {url: frozenset(firms) for url, firms in found.items()}


def _requests(record: RunRecord) -> str:
    """The total, split into reads made while planning and requests sent while applying."""
    if record.apply_requests is None:
        return str(record.requests)
    return f"{record.requests} ({record.plan_requests} + {record.apply_requests})"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}/s"


def _latency(record: RunRecord) -> str:
    """The slowest family's smoothed and p90 latency, e.g. ``entities 251/312 ms``."""
    slowest = record.slowest_family()
    if slowest is None:
        return "-"
    family, figures = slowest
    return f"{family} {figures['smoothed_ms']:.0f}/{figures['p90_ms']:.0f} ms"


def _changes(record: RunRecord) -> str:
    totals = record.by_status()
    parts = [f"{totals[s]} {s}" for s in SHOWN_STATUSES if totals[s]]
    return ", ".join(parts) or "nothing to do"


def _table(records: list[RunRecord]) -> Table:
    table = Table(title="syncer runs (newest first)")
    for column in (
        "run",
        "firm",
        "command",
        "started (UTC)",
        "duration",
        "status",
        "exit",
        "changes",
        "requests (plan + apply)",
        "429s",
        "401s",
        "rate / learned",
        "latency (p90)",
    ):
        table.add_column(column)
    for r in records:
        duration = r.duration_seconds
        table.add_row(
            str(r.id),
            r.firm,
            r.command,
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            "running" if duration is None else f"{duration:.1f}s",
            r.status,
            "-" if r.exit_code is None else str(r.exit_code),
            _changes(r),
            _requests(r),
            str(r.throttled),
            str(r.unauthorized),
            f"{_rate(r.achieved_rate)} / {_rate(r.learned_rate)}",
            _latency(r),
        )
    return table
