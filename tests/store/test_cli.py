"""The ``db`` and ``load`` commands: once as a real process elsewhere, then in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncer.cli.main import cli
from syncer.store.schema import head_revision
from tests.closing import closing_lines


def _syncer_process(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYNCER_DATABASE__URL": url}
    env.pop("SYNCER_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _syncer(url: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, list(args), env={"SYNCER_DATABASE__URL": url, "SYNCER_CONFIG": None}
    )


def test_real_process_upgrades_and_loads_from_another_directory(
    sqlite_url: str, tmp_path: Path
) -> None:
    upgraded = _syncer_process(tmp_path, sqlite_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database is at revision {head_revision()}\n"

    good = tmp_path / "groups.csv"
    good.write_text("name,description\nTax,Tax team\n", encoding="utf-8")
    loaded = _syncer_process(tmp_path, sqlite_url, "load", "groups", str(good))
    assert (loaded.returncode, loaded.stdout) == (0, "desired_groups: 1 rows loaded\n")

    bad = tmp_path / "members.csv"
    bad.write_text("group_name,user_email\nTax,nobody\n", encoding="utf-8")
    rejected = _syncer_process(tmp_path, sqlite_url, "load", "group_members", str(bad))
    assert rejected.returncode == 3
    assert rejected.stdout == (
        f"{bad}:2: user_email: not a valid e-mail address: 'nobody'\n"
        "desired_group_members: 0 rows loaded, 1 rejected\n"
    )


def test_commands_on_each_database(database_url: str, tmp_path: Path) -> None:
    assert (
        _syncer(database_url, "db", "current").output
        == f"base (newest is {head_revision()}; run 'db upgrade')\n"
    )
    groups = tmp_path / "groups.csv"
    groups.write_text("name\nTax\n", encoding="utf-8")
    too_early = _syncer(database_url, "load", "groups", str(groups))
    assert too_early.exit_code == 1
    assert "run 'syncer db upgrade' first" in too_early.output

    assert _syncer(database_url, "db", "upgrade").exit_code == 0
    assert _syncer(database_url, "db", "current").output == f"{head_revision()} (up to date)\n"

    users = tmp_path / "users.csv"
    users.write_text("email,owner_type\nann@x.com,Staff\nbob@x.com,Boss\n", encoding="utf-8")
    loaded = _syncer(database_url, "load", "users", str(users))
    assert loaded.exit_code == 3
    assert "desired_users: 1 rows loaded, 1 rejected" in loaded.output

    users.write_text("email\nbob@x.com\n", encoding="utf-8")
    replaced = _syncer(database_url, "load", "users", str(users), "--replace")
    assert (replaced.exit_code, replaced.output) == (0, "desired_users: 1 rows loaded, 1 deleted\n")

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("colour\nred\n", encoding="utf-8")
    refused = _syncer(database_url, "load", "groups", str(wrong))
    assert refused.exit_code == 1
    assert "unknown column(s) 'colour'" in refused.output

    down = _syncer(database_url, "db", "downgrade", "base")
    assert (down.exit_code, down.output) == (0, "database is at revision base\n")
    unknown = _syncer(database_url, "db", "downgrade", "nope")
    assert unknown.exit_code == 1
    assert "migration error" in unknown.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "database error: "),
        ("sqlite+aiosqlite:////nonexistent-folder/x.db", "folder of the SQLite database"),
    ],
)
def test_an_unreachable_database_is_one_line_not_a_traceback(url: str, message: str) -> None:
    failed = _syncer(url, "db", "upgrade")
    assert failed.exit_code == 1
    # CliRunner's stderr is no terminal, so the logs are JSON lines and so is the error line.
    (closing,) = closing_lines(failed.output)
    assert closing.exit_code == 1
    assert message in closing.message
    assert failed.output.count("\n") == 1
    assert "Traceback" not in failed.output


@pytest.mark.parametrize(("args", "expected"), [(("db",), "upgrade"), (("load",), "--replace")])
def test_help_explains_the_commands(args: tuple[str, ...], expected: str) -> None:
    shown = _syncer("sqlite+aiosqlite://", *args, "--help")
    assert shown.exit_code == 0
    assert expected in shown.output
