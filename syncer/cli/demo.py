"""``syncer demo``: see syncer work end to end, with no configuration and nothing to set up."""

from __future__ import annotations

from pathlib import Path

import click

from syncer.cli.context import current, run
from syncer.demo.data import DEFAULT_SEED, SIZES, Size
from syncer.demo.run import DemoOptions, run_demo


def _sizes_help() -> str:
    return ", ".join(
        f"{size} ({spec.clients:,} clients, {spec.staff + spec.contacts} users)"
        for size, spec in SIZES.items()
    )


@click.command()
@click.option(
    "--size",
    type=click.Choice([size.value for size in Size]),
    default=Size.SMALL.value,
    show_default=True,
    help=f"How big a firm to simulate: {_sizes_help()}.",
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("syncer-demo"),
    show_default=True,
    help="Working folder for the database, reports and a ready configuration file.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the simulator running afterwards, to explore with other commands (Ctrl-C stops).",
)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, help="Seed of the generated firm.")
def command(*, size: str, workdir: Path, keep: bool, seed: int) -> None:
    """Run syncer end to end against a simulated firm: no configuration needed.

    Starts a simulated Caseware Cloud on a free loopback port, creates and migrates a SQLite
    database in the working folder, fills it with a believable firm (clients, staff, groups,
    roles), shows the plan, applies it with progress bars, edits a few rows, shows the next plan
    and writes HTML reports. A small firm takes well under a minute.

    Ignores --config and SYNCER_* variables: the demo never touches a real database or firm.

    \b
    Examples:
      syncer demo                        # small firm, in ./syncer-demo/
      syncer demo --size medium          # 2,000 clients
      syncer demo --keep                 # then: syncer --config syncer-demo/syncer.toml plan
      syncer demo --dir /tmp/try-syncer
    """
    current().configure_logs("warning")
    options = DemoOptions(size=Size(size), workdir=workdir, keep=keep, seed=seed)
    run(lambda: run_demo(options))
