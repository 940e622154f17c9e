"""Issue 13, the operator's side: a configuration, a database, a plan file or a signal that is
not what syncer expects ends with the documented code and one clear line, before any harm."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import orjson
import pytest

from syncer.errors import ExitCode
from tests.apply.support import entity, fill
from tests.hostile.server import SECRET, Behaviour, HostileServer, serve_hostile
from tests.hostile.support import Outcome, base_env, env_for, run_syncer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def url(migrated_sqlite_url: str) -> str:
    await fill(migrated_sqlite_url, {"entities": [entity(1)]})
    return migrated_sqlite_url


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    async with serve_hostile(Behaviour.WELL_BEHAVED) as running:
        yield running


async def test_plan_in_an_empty_folder_says_what_is_missing_before_any_request(
    tmp_path: Path,
) -> None:
    outcome = await run_syncer(base_env(), "plan", cwd=tmp_path)
    assert outcome.code == ExitCode.CONFIG
    outcome.assert_one_clear_line(
        "--config or SYNCER_CONFIG",
        "cloud.firm",
        "cloud.client_id",
        "the client secret",
        "syncer demo",
        "config/example.toml",
    )
    assert not (tmp_path / "syncer.db").exists(), "nothing may be written"


async def test_a_secret_written_in_the_configuration_file_is_refused(
    tmp_path: Path, server: HostileServer, url: str
) -> None:
    config = tmp_path / "syncer.toml"
    config.write_text(f'[cloud]\nclient_secret = "{SECRET}"\n', encoding="utf-8")
    env = env_for(server, url)
    del env["SYNCER_CLOUD__CLIENT_SECRET"]
    outcome = await run_syncer(env, "--config", str(config), "plan")
    assert outcome.code == ExitCode.CONFIG
    outcome.assert_one_clear_line("cloud.client_secret", "never goes in the configuration file")
    outcome.assert_no_secret()
    assert server.requests == []


async def test_an_empty_secret_is_a_configuration_error(server: HostileServer, url: str) -> None:
    outcome = await run_syncer(env_for(server, url, SYNCER_CLOUD__CLIENT_SECRET="  "), "plan")
    assert outcome.code == ExitCode.CONFIG
    outcome.assert_one_clear_line("the client secret")
    assert server.requests == []


async def test_a_secret_file_others_may_read_is_warned_about(
    tmp_path: Path, server: HostileServer, url: str
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o644)
    env = env_for(server, url, SYNCER_CLOUD__CLIENT_SECRET_FILE=str(secret_file))
    del env["SYNCER_CLOUD__CLIENT_SECRET"]
    outcome = await run_syncer(env, "plan")
    assert outcome.code == ExitCode.OK, outcome.stderr
    assert "secret file readable by group or others" in outcome.stderr
    outcome.assert_no_secret()

    secret_file.chmod(0o600)
    outcome = await run_syncer(env, "plan")
    assert "readable by group or others" not in outcome.stderr


async def test_a_malformed_database_url_names_the_key(server: HostileServer, url: str) -> None:
    env = env_for(server, url, SYNCER_DATABASE__URL="postgresql+psycopg://u@h:port/db")
    outcome = await run_syncer(env, "plan")
    assert outcome.code == ExitCode.CONFIG
    outcome.assert_one_clear_line("database.url: Value error, not a database URL")


async def test_missing_desired_tables_say_run_db_upgrade(
    server: HostileServer, sqlite_url: str
) -> None:
    outcome = await run_syncer(env_for(server, sqlite_url), "plan")
    assert outcome.code == ExitCode.CONFIG
    outcome.assert_one_clear_line("desired_entities", "run `syncer db upgrade`")
    assert server.requests == [], "a missing table must stop the run before Cloud is read"


async def test_an_operators_select_with_a_colon_runs_as_written(
    server: HostileServer, url: str
) -> None:
    query = "SELECT * FROM desired_entities WHERE name <> ':x'"
    outcome = await run_syncer(env_for(server, url, SYNCER_SOURCES__ENTITIES=query), "plan")
    assert outcome.code == ExitCode.OK, outcome.stderr
    assert "create entities C-0001" in outcome.stdout
    assert "unreadable" not in outcome.stderr


async def test_terminal_escapes_in_names_are_shown_escaped(
    server: HostileServer, migrated_sqlite_url: str
) -> None:
    evil = "\x1b[2J\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
    await fill(migrated_sqlite_url, {"entities": [entity(1, name=evil)]})
    outcome = await run_syncer(env_for(server, migrated_sqlite_url), "plan")
    assert outcome.code == ExitCode.OK, outcome.stderr
    assert "\x1b" not in outcome.stdout
    assert "\\x1b[2J\\x1b]8;;http://evil.example/" in outcome.stdout


async def test_an_edited_plan_entry_of_unknown_kind_is_refused_naming_it(
    tmp_path: Path, server: HostileServer, url: str
) -> None:
    saved = tmp_path / "plan.json"
    env = env_for(server, url)
    outcome = await run_syncer(env, "plan", "--format", "json", "--out", str(saved))
    assert outcome.code == ExitCode.OK, outcome.stderr
    doc = orjson.loads(saved.read_bytes())
    doc["changes"][0]["kind"] = "widgets"
    saved.write_bytes(orjson.dumps(doc))

    outcome = await run_syncer(env, "apply", "--plan", str(saved))
    assert outcome.code == ExitCode.ERROR
    outcome.assert_one_clear_line("changes[0]", "'widgets'", "unknown kind or action")
    assert server.writes == []


async def _sigterm_when_reading(
    server: HostileServer, env: dict[str, str], command: str
) -> Outcome:
    async with await anyio.open_process([sys.executable, "-m", "syncer", command], env=env) as proc:
        with anyio.fail_after(30):
            await server.first_read.wait()
        proc.send_signal(signal.SIGTERM)
        assert proc.stderr is not None
        stderr = b"".join([chunk async for chunk in proc.stderr])
        code = await proc.wait()
    return Outcome(code, "", stderr.decode())


@pytest.mark.parametrize("command", ["plan", "apply"])
async def test_sigterm_while_reading_cloud_exits_143_with_one_line(url: str, command: str) -> None:
    async with serve_hostile(Behaviour.SLOW_LIST) as server:
        outcome = await _sigterm_when_reading(server, env_for(server, url), command)
    assert outcome.code == ExitCode.TERMINATED
    outcome.assert_one_clear_line("terminated by SIGTERM")
