"""``syncer probe``: check the firm against every ``[cloud.api]`` assumption before a first sync.

It only reads (``auth/token`` aside), sends about forty requests through syncer's own limiter,
and exits 0 when every assumption holds, 2 when one differs (the advice says what to set;
``--write-config`` writes it), and 77/69/76 when it cannot run at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import click
from rich.console import Console

from syncer.cli.context import pass_settings, run
from syncer.errors import ExitCode, SyncerError, UsageError
from syncer.probe import run_probe
from syncer.probe.output import as_json, config_toml, table
from syncer.settings import Settings

WIDE = 200


@click.command(name="probe")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table for people, or JSON on stdout for scripts.",
)
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the [cloud.api] settings that fit this firm to FILE (TOML).",
)
@click.option("--firm", default=None, help="The firm to probe (of [[firms]]).")
@pass_settings
def command(settings: Settings, output: str, write_config: Path | None, firm: str | None) -> None:
    """Check, reading only, that the firm's API behaves as syncer assumes.

    \b
    Examples:
      syncer --config firm.toml probe
      syncer --config firm.toml probe --format json --write-config fitted.toml
    """

    async def go() -> ExitCode:
        configured = settings.firm_configs()
        if firm is None and len(configured) > 1:
            names = ", ".join(f.name for f in configured)
            raise UsageError(f"probe one firm at a time: add --firm NAME (one of {names})")
        chosen = settings.select_firms(firm)[0]
        cloud = chosen.settings.cloud
        report = await run_probe(cloud)
        if output == "json":
            sys.stdout.buffer.write(as_json(report))
        else:
            console = Console()
            if not console.is_terminal:
                console = Console(width=WIDE)  # a file or a pipe: never truncate a column
            console.print(table(report, chosen.name))
        if write_config is not None:
            try:
                await anyio.Path(write_config).write_text(config_toml(cloud, report), "utf-8")
            except OSError as exc:
                raise SyncerError(f"cannot write {write_config}: {exc.strerror}") from None
        return report.exit_code

    run(go)
