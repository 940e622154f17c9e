"""``syncer load KIND FILE.csv``: fill a desired-state table from a CSV file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from syncer.cli.context import pass_settings, run
from syncer.errors import ExitCode
from syncer.model import ALL_KINDS, kind_named
from syncer.settings import Settings
from syncer.store import (
    LoadResult,
    create_engine,
    database_errors,
    load_csv,
)
from syncer.store.schema import require_current_schema


@click.command(name="load")
@click.argument("kind", type=click.Choice(ALL_KINDS))
@click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Make the table exactly the file: also DELETE the stored rows the file does not list "
    "(rows rejected for a bad value keep their stored version).",
)
@pass_settings
def command(settings: Settings, kind: str, path: Path, replace: bool) -> None:
    """Validate FILE.csv row by row and upsert the good rows into KIND's table.

    The first line names the columns (the key column is required; others may be left out and
    are then not changed). Good rows are written in one transaction, so loading the same file
    twice is harmless. Each bad row is reported with its line, column and reason; the exit code
    is 3 when any row was rejected.

    \b
    Example:
      syncer load users staff.csv
    """

    async def go() -> ExitCode:
        engine = create_engine(settings.database.url)
        try:
            async with database_errors():
                await require_current_schema(engine)
                result = await load_csv(engine, kind_named(kind), path, replace=replace)
        finally:
            await engine.dispose()
        _report(result, path)
        return ExitCode.ROWS_REJECTED if result.rejected else ExitCode.OK

    run(go)


def _report(result: LoadResult, path: Path) -> None:
    """Bad rows as a table on a terminal, as ``FILE:LINE: column: reason`` lines otherwise."""
    if result.rejected and sys.stdout.isatty():
        table = Table("line", "column", "reason", title=f"rejected rows of {path.name}")
        for rejection in result.rejected:
            table.add_row(str(rejection.line), rejection.column or "(row)", rejection.reason)
        Console().print(table)
    else:
        for rejection in result.rejected:
            column = f" {rejection.column}:" if rejection.column else ""
            click.echo(f"{path}:{rejection.line}:{column} {rejection.reason}")
    summary = f"{result.table}: {result.loaded} rows loaded"
    if result.deleted:
        summary += f", {result.deleted} deleted"
    if result.rejected:
        summary += f", {result.rejected_lines} rejected"
    click.echo(summary)
    for name, count in result.orphaned.items():
        click.echo(
            f"warning: {count} rows of {name} name rows that were deleted; "
            "plan will report them as invalid",
            err=True,
        )
