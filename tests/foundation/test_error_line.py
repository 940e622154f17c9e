"""The closing error line in both log formats: plain ``syncer: ...`` text beside readable logs, one
JSON event carrying the exit code beside JSON lines (``tests/hostile/test_log_format.py`` runs
both through the real command)."""

from __future__ import annotations

import json

import pytest

from syncer import logs, masking
from syncer.cli.failures import EXIT_EVENT, exit_for
from syncer.errors import CredentialsRejected, ExitCode

SECRET = "error-line-s3cret-0193"
WRAPPED = ExceptionGroup("task group", [CredentialsRejected(f"refused\n  {SECRET}  again")])
"""A task group's wrapping, a line break and a known secret: none may show."""


def _exit(json_logs: bool) -> int | str | None:
    masking.remember(SECRET)
    with pytest.raises(SystemExit) as stopped:
        exit_for(WRAPPED, json_logs=json_logs)
    return stopped.value.code


def test_beside_json_logs_the_error_line_is_a_json_event_with_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    json_logs = logs.configure("info", "json")
    assert json_logs
    assert _exit(json_logs) == ExitCode.CREDENTIALS_REJECTED
    (line,) = capsys.readouterr().err.splitlines()
    event = json.loads(line)
    assert event["event"] == EXIT_EVENT
    assert event["exit_code"] == ExitCode.CREDENTIALS_REJECTED
    assert event["level"] == "error"
    assert event["message"] == f"refused {masking.REDACTED} again"
    assert "timestamp" in event


def test_beside_readable_logs_the_error_line_stays_plain_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    json_logs = logs.configure("info", "console")
    assert not json_logs
    assert _exit(json_logs) == ExitCode.CREDENTIALS_REJECTED
    assert capsys.readouterr().err == f"syncer: refused {masking.REDACTED} again\n"


def test_at_the_error_level_the_json_error_line_is_still_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    json_logs = logs.configure("error", "json")
    assert _exit(json_logs) == ExitCode.CREDENTIALS_REJECTED
    assert json.loads(capsys.readouterr().err)["event"] == EXIT_EVENT
