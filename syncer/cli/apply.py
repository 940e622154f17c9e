"""``syncer apply [--plan FILE] [--allow-deletes] [--max-in-flight N]``: make Cloud match."""

from __future__ import annotations

from pathlib import Path

import click

from syncer.apply.engine import ApplyOptions, run_apply
from syncer.cli.context import pass_settings, run
from syncer.settings import Settings
from syncer.store.db import database_errors


@click.command(name="apply")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Carry out this saved plan (from `syncer plan --format json`); refused when Cloud "
    "has changed since it was made.",
)
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Release retirements the safety threshold blocked, for this run only.",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(1, 512),
    default=None,
    help="Requests in flight at once (overrides cloud.max_in_flight).",
)
@pass_settings
def command(
    settings: Settings, plan_file: Path | None, allow_deletes: bool, max_in_flight: int | None
) -> None:
    """Plan afresh (or check the saved plan) and carry it out, as fast as the rate limit allows.

    An interrupted run (killed, or stopped by rejected credentials) is resumed: nothing done is
    redone and nothing is created twice. SIGINT/SIGTERM stop taking new work and let requests in
    flight finish. Exit codes: 0 done, 3 some rows rejected, 4 stopped by a safety guard, 69 Cloud
    unreachable, 75 another run holds the lock, 77 credentials rejected.

    \b
    Examples:
      syncer apply
      syncer plan --format json --out plan.json && syncer apply --plan plan.json
    """
    options = ApplyOptions(plan_file, allow_deletes, max_in_flight)

    async def go() -> int:
        async with database_errors():
            result = await run_apply(settings, options)
        if result.message:
            click.echo(f"syncer: {result.message}", err=True)
        return result.exit_code

    run(go)
