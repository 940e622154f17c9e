"""The ``syncer`` command group.

Commands are listed as data (name -> module) and imported only when invoked, so ``syncer --help``
stays fast and a command's heavy imports (the simulator, SQLAlchemy) cost nothing elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import version
from pathlib import Path

import click

from syncer.cli.context import CliContext
from syncer.cli.failures import exit_for, fail
from syncer.errors import ExitCode

COMMANDS: dict[str, str] = {
    "db": "syncer.cli.db",
    "plan": "syncer.cli.plan",
    "apply": "syncer.cli.apply",
    "load": "syncer.cli.load",
    "export": "syncer.cli.export",
    "runs": "syncer.cli.runs",
    "simulate": "syncer.cli.simulate",
    "demo": "syncer.cli.demo",
    "probe": "syncer.cli.probe",
    "worker": "syncer.cli.worker",
    "queue": "syncer.cli.queue",
}
"""Command name -> module defining ``command``; each module holds one command (or group)."""


class LazyGroup(click.Group):
    """A group that imports a command's module on first use; missing modules are not listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, module in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None or not _module_exists(module):
            return None
        command = importlib.import_module(module).command
        assert isinstance(command, click.Command)
        return command


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYNCER_CONFIG",
    help="Configuration file (TOML). Default: $SYNCER_CONFIG.",
)
@click.version_option(version("syncer"), prog_name="syncer")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Keep a Caseware Cloud firm in step with a SQL database.

    \b
    Examples:
      syncer demo                       # try it: simulator + SQLite, no set-up
      syncer --config firm.toml plan    # what would change?
      syncer --config firm.toml apply   # make it so
    """
    ctx.ensure_object(CliContext).config_path = config_path


def main() -> None:
    """Run the CLI; a usage error exits 64 (the contract's code), not click's 2, which would read
    as "changes pending" to a script using ``plan --detailed-exitcode``."""
    context = CliContext()
    try:
        result = cli.main(prog_name="syncer", standalone_mode=False, obj=context)
    except click.UsageError as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        fail("aborted", ExitCode.INTERRUPTED, json_logs=context.json_logs)
    except Exception as exc:  # a command that does not go through ``run`` (db, load...)
        exit_for(exc, json_logs=context.json_logs)
    sys.exit(result if isinstance(result, int) else ExitCode.OK)
