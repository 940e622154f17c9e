"""README: "Logs are JSON lines when stderr is not a terminal" - without forcing the format."""

from __future__ import annotations

import orjson
import pytest

from syncer.errors import ExitCode
from tests.hostile.server import Behaviour, serve_hostile
from tests.hostile.support import env_for, run_syncer

pytestmark = pytest.mark.anyio


async def test_logs_are_json_lines_when_stderr_is_not_a_terminal(migrated_sqlite_url: str) -> None:
    async with serve_hostile(Behaviour.WELL_BEHAVED) as server:
        env = env_for(server, migrated_sqlite_url)
        del env["SYNCER_LOGGING__FORMAT"]
        outcome = await run_syncer(env, "plan")
    assert outcome.code == ExitCode.OK, outcome.stderr
    lines = outcome.stderr.splitlines()
    assert lines, "plan logs what it read"
    events = [orjson.loads(line) for line in lines]
    assert all({"event", "level", "timestamp"} <= event.keys() for event in events)


async def test_beside_readable_logs_a_failure_ends_in_a_plain_text_line(
    migrated_sqlite_url: str,
) -> None:
    async with serve_hostile(Behaviour.AUTH_401) as server:
        env = env_for(server, migrated_sqlite_url, SYNCER_LOGGING__FORMAT="console")
        outcome = await run_syncer(env, "plan")
    assert outcome.code == ExitCode.CREDENTIALS_REJECTED, outcome.stderr
    lines = outcome.stderr.splitlines()
    assert lines[-1].startswith("syncer: Cloud refused"), outcome.stderr
    assert not any(line.startswith("{") for line in lines), "no JSON beside readable logs"
    outcome.assert_one_clear_line("cloud.client_id")
