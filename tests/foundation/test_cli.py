"""The command group: help, version, shell completion, and configuration errors turned into exit
78."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from syncer.cli.main import COMMANDS, cli


def syncer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command_and_version_prints(tmp_path: Path) -> None:
    helped = syncer("--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for name in COMMANDS:
        assert f"  {name} " in helped.stdout
    version = syncer("--version", cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("syncer, version ")


def test_an_unknown_key_exits_78_and_names_it(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[cloud]\nfrim = "x"\n', encoding="utf-8")
    result = syncer("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 78
    assert "cloud.frim: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    result = syncer("load", "no-such-kind", str(tmp_path / "x.csv"), cwd=tmp_path)
    assert result.returncode == 64


def test_an_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = syncer("frobnicate", cwd=tmp_path)
    assert result.returncode == 64
    assert "No such command" in result.stderr


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
print([entry.module for entry in COMMANDS.values() if entry.module in sys.modules])
print(helped.output)
print(completed.output)
"""


def test_help_and_completion_list_the_commands_without_importing_them(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-c", LISTING], capture_output=True, text=True, timeout=60, check=True
    )
    imported, listing = listed.stdout.split("\n", 1)
    assert imported == "[]", "a command module was imported to list it"
    for name, entry in COMMANDS.items():
        assert f"  {name} " in listing
        shown = click.Command(name, help=entry.summary).get_short_help_str()
        assert f"plain\n{name}\n{shown}\n" in listing, "completion shows the summary"
