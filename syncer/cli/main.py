"""The ``syncer`` command group.

Commands are listed as data (name -> module and summary) and imported only when invoked, so
``syncer --help`` and shell completion import none of them and stay fast, and a command's heavy
imports (the simulator, SQLAlchemy) cost nothing elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from syncer.cli.context import CliContext
from syncer.cli.failures import exit_for, fail
from syncer.errors import ExitCode


@dataclass(frozen=True)
class Entry:
    module: str
    """The module defining ``command``; each module holds one command (or group)."""
    summary: str
    """The first sentence of the command's help, shown by ``syncer --help`` and shell completion
    without importing the module (``tests/foundation/test_command_listing.py`` keeps the two
    equal)."""


COMMANDS: dict[str, Entry] = {
    "db": Entry("syncer.cli.db", "Create or migrate syncer's tables in the configured database."),
    "plan": Entry(
        "syncer.cli.plan",
        "Compare desired state with Cloud and report what apply would change; changes nothing.",
    ),
    "apply": Entry(
        "syncer.cli.apply",
        "Plan afresh (or check the saved plan) and carry it out, as fast as the rate limit allows.",
    ),
    "load": Entry(
        "syncer.cli.load",
        "Validate FILE.csv row by row and upsert the good rows into KIND's table.",
    ),
    "export": Entry(
        "syncer.cli.export",
        "Read the firm's Cloud state and write one CSV file per kind in `syncer load`'s format.",
    ),
    "runs": Entry(
        "syncer.cli.runs",
        "List recent runs: when, how long, what they did, requests, 429s and the rates.",
    ),
    "simulate": Entry(
        "syncer.cli.simulate",
        "Serve the simulated Caseware Cloud API v2 (control plane under /_sim/).",
    ),
    "demo": Entry(
        "syncer.cli.demo",
        "Run syncer end to end against a simulated firm: no configuration needed.",
    ),
    "probe": Entry(
        "syncer.cli.probe", "Check, reading only, that the firm's API behaves as syncer assumes."
    ),
    "worker": Entry(
        "syncer.cli.worker",
        "Run queued and scheduled firm jobs until stopped (needs PostgreSQL).",
    ),
    "queue": Entry(
        "syncer.cli.queue",
        "Queue firm jobs for `syncer worker` processes, and show them (needs PostgreSQL).",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module on first use; missing modules are not listed.
    Its help and its completions list commands by their summaries, importing none of them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, entry in COMMANDS.items() if _module_exists(entry.module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry.module):
            return None
        command = importlib.import_module(entry.module).command
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _Listing(commands=[_stand_in(name) for name in self.list_commands(ctx)]).format_commands(
            ctx, formatter
        )

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        commands = [
            CompletionItem(name, help=_stand_in(name).get_short_help_str())
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        # The group's own options, as click.Group would add them after its commands.
        return [*commands, *click.Command.shell_complete(self, ctx, incomplete)]


class _Listing(click.Group):
    """Stand-ins in the order of ``COMMANDS`` (a plain group would sort them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _stand_in(name: str) -> click.Command:
    """A command holding only ``name``'s summary: click shortens it as it would the real help."""
    return click.Command(name, help=COMMANDS[name].summary)


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
@click.version_option(package_name="syncer", prog_name="syncer")  # looked up only when asked
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
