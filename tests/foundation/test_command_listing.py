"""The command group lists its commands (``syncer --help``, shell completion) from their summaries,
without importing any command; each summary is the command's own first sentence."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from syncer.cli.main import COMMANDS, cli


def _completions(words: str) -> list[str]:
    """What bash completion offers for the last of ``words`` (the README's ``bash_source``
    script asks the command this way)."""
    env = {
        "_SYNCER_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    done = CliRunner().invoke(cli, [], prog_name="syncer", env=env)
    assert done.exit_code == 0, done.output
    return done.output.split()


def test_shell_completion_offers_commands_and_their_options() -> None:
    assert _completions("syncer pl") == ["plain,plan"]
    assert _completions("syncer q") == ["plain,queue"]
    assert _completions("syncer plan --fo") == ["plain,--format"]


def test_each_summary_is_the_first_sentence_of_the_commands_own_help() -> None:
    for name, entry in COMMANDS.items():
        command = importlib.import_module(entry.module).command
        assert not command.hidden, name
        stand_in = click.Command(name, help=entry.summary)
        for limit in (30, 45, 80, 200):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


LISTING = """
import sys
from click.testing import CliRunner
from syncer.cli.main import COMMANDS, cli

helped = CliRunner().invoke(cli, ["--help"])
assert helped.exit_code == 0, helped.output
env = {"_SYNCER_COMPLETE": "zsh_complete", "COMP_WORDS": "syncer ", "COMP_CWORD": "1"}
completed = CliRunner().invoke(cli, [], prog_name="syncer", env=env)
assert completed.exit_code == 0, completed.output
heavy = [entry.module for entry in COMMANDS.values()] + ["syncer.settings", "syncer.logs"]
print([module for module in heavy if module in sys.modules])
print(helped.output)
print(completed.output)
"""


def test_help_and_completion_list_the_commands_without_importing_them(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-c", LISTING], capture_output=True, text=True, timeout=60, check=True
    )
    imported, listing = listed.stdout.split("\n", 1)
    # Nor the settings (pydantic, SQLAlchemy) or the logs (structlog, rich): about 0.8 s of CPU.
    assert imported == "[]", "a command module, the settings or the logs were imported to list"
    for name, entry in COMMANDS.items():
        assert f"  {name} " in listing
        shown = click.Command(name, help=entry.summary).get_short_help_str()
        assert f"plain\n{name}\n{shown}\n" in listing, "completion shows the summary"
