"""``syncer plan [--format text|json|csv|html] [--out FILE] [--detailed-exitcode]``: the dry run."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from syncer.cli.context import pass_settings, run
from syncer.cli.terminate import cancelled_by_sigterm
from syncer.errors import ExitCode, UsageError
from syncer.firms import run_firms
from syncer.plan import Plan
from syncer.report import FORMATS, print_text, render
from syncer.settings import Firm, Settings
from syncer.store import database_errors
from syncer.usecases import plan_firm


@click.command(name="plan")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report here instead of standard output.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when changes are pending, 0 when there is nothing to do.",
)
@click.option("--firm", "firm_name", default=None, help="Plan this firm only (of [[firms]]).")
@click.option(
    "--refresh",
    is_flag=True,
    help="Read every client's addresses again, not only those changed since last seen in step.",
)
@pass_settings
def command(
    settings: Settings,
    *,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    firm_name: str | None,
    refresh: bool,
) -> None:
    """Compare desired state with Cloud and report what apply would change; changes nothing.

    Progress goes to stderr while Cloud is read; the report goes to stdout or --out. Save the
    JSON report and hand it to `syncer apply --plan FILE` to carry out exactly what was reviewed.

    \b
    Examples:
      syncer plan
      syncer plan --format html --out plan.html
      syncer plan --format json --out plan.json --detailed-exitcode
    """

    async def one(firm: Firm, target: Path | None) -> int:
        async with database_errors():
            snapshot = await plan_firm(firm.settings, refresh=refresh)
        _write(snapshot.plan, fmt, target)
        pending = detailed_exitcode and snapshot.plan.has_changes
        return int(ExitCode.CHANGES_PENDING if pending else ExitCode.OK)

    async def go() -> int:
        firms = settings.select_firms(firm_name)
        if len(firms) > 1 and out is None and fmt != "text":
            raise UsageError("several firms: give --out (one file per firm) or --firm NAME")
        return await run_firms(firms, lambda firm: one(firm, _target(out, firm, len(firms))))

    run(lambda: cancelled_by_sigterm(go))


def _target(out: Path | None, firm: Firm, firms: int) -> Path | None:
    """With several firms, each report goes beside ``out`` with the firm's name in it."""
    if out is None or firms == 1:
        return out
    return out.with_name(f"{out.stem}.{firm.name}{out.suffix}")


def _write(plan: Plan, fmt: str, target: Path | None) -> None:
    """The report to ``target`` or stdout; text on a terminal is drawn by rich, in colour."""
    if fmt == "text" and target is None and sys.stdout.isatty():
        print_text(plan, Console())
        return
    rendered = render(plan, fmt)
    data = rendered.encode() if isinstance(rendered, str) else rendered
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        target.write_bytes(data)
