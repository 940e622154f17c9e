"""``syncer export --out DIR [--kinds KIND,...]``: Cloud's state as the CSV files ``load`` reads."""

from __future__ import annotations

from pathlib import Path

import click

from syncer.cli.context import pass_settings, run
from syncer.errors import UsageError
from syncer.export.run import export_firm
from syncer.model import ALL_KINDS
from syncer.settings import Settings


def parse_kinds(raw: tuple[str, ...]) -> frozenset[str]:
    """``--kinds`` values, each possibly a comma-separated list; none given means every kind."""
    names = [name.strip() for value in raw for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALL_KINDS]
    if unknown:
        raise UsageError(
            f"--kinds: unknown kind {unknown[0]!r}; expected some of {', '.join(ALL_KINDS)}"
        )
    return frozenset(names or ALL_KINDS)


@click.command(name="export")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the CSV files (one per kind, e.g. entities.csv); created if missing.",
)
@click.option(
    "--kinds",
    multiple=True,
    metavar="KIND[,KIND...]",
    help=f"Kinds to export (default: all of {', '.join(ALL_KINDS)}).",
)
@click.option("--firm", "firm_name", default=None, help="The firm to export (of [[firms]]).")
@pass_settings
def command(
    settings: Settings, *, out: Path, kinds: tuple[str, ...], firm_name: str | None
) -> None:
    """Read the firm's Cloud state and write one CSV file per kind in `syncer load`'s format.

    Loading the files into an empty database gives a desired state equal to Cloud: the first
    plan is empty. Objects `load` would refuse (a user of owner type Plugin...) are left out and
    counted. Nothing is changed in Cloud or in the database.

    \b
    Examples:
      syncer export --out cloud-state
      syncer export --out cloud-state --kinds entities,users
      for k in groups entities users group_members user_roles entity_addresses; do
        syncer load $k cloud-state/$k.csv; done
    """

    async def go() -> None:
        chosen = parse_kinds(kinds)
        firms = settings.select_firms(firm_name)
        if len(firms) > 1:
            raise UsageError("several firms are configured: choose one with --firm NAME")
        for written in await export_firm(firms[0].settings, out, chosen):
            note = ""
            if written.left_out:
                note = f" ({written.left_out} left out: load could not take them)"
            click.echo(f"{written.path}: {written.rows} rows{note}")

    run(go)
