"""The command group: help, version, and configuration errors turned into exit 78."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncer.cli.main import COMMANDS


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
