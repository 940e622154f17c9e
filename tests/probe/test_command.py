"""``syncer probe`` as a process: JSON on stdout, exit codes, and a written configuration that
``plan`` and ``apply`` take as it is."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from syncer.simulator.dialect import Dialect
from tests.apply.support import env_for, fill, writes
from tests.fixtures.simulator import SimulatorFactory
from tests.probe.firm import DESIRED, assert_firm_matches_desired, checks_by_id, seed_firm

pytestmark = pytest.mark.anyio

CHECK_IDS = [
    "auth.token",
    "ratelimit.headers",
    "ratelimit.keying",
    "ratelimit.auth_limited",
    "paging.first_page",
    "paging.max_page_size",
    "paging.default_page_size",
    "paging.stable_order",
    "search.quote_escape",
    "fields.entities",
    "fields.users",
    "fields.groups",
    "fields.roles",
    "members.read",
    "errors.not_found",
]


async def syncer(env: Mapping[str, str], *args: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", *args], env=dict(env), check=False
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_every_check_holds_on_the_documented_api(
    simulator_factory: SimulatorFactory, url: str
) -> None:
    sim = await simulator_factory()
    seed_firm(sim)
    code, stdout, stderr = await syncer(env_for(sim, url), "probe", "--format", "json")
    assert code == ExitCode.OK, stderr
    report = orjson.loads(stdout)
    assert report["format_version"] == 1
    assert [c["id"] for c in report["checks"]] == CHECK_IDS
    assert {c["verdict"] for c in report["checks"]} == {"holds"}
    assert set(report["checks"][0]) == {"id", "expected", "observed", "verdict", "advice"}
    assert writes(sim) == 0
    assert sim.client_secret not in stdout + stderr


async def test_several_firms_need_firm_to_choose_one(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    config = tmp_path / "firms.toml"
    config.write_text('[[firms]]\nname = "a"\n\n[[firms]]\nname = "b"\n', encoding="utf-8")
    env = {k: v for k, v in env_for(simulator, url).items() if not k.startswith("SYNCER_CLOUD")}
    code, _, stderr = await syncer(env, "--config", str(config), "probe")
    assert code == ExitCode.USAGE
    assert "--firm NAME (one of a, b)" in stderr


async def test_the_written_configuration_is_what_plan_and_apply_need(
    simulator_factory: SimulatorFactory, url: str, tmp_path: Path
) -> None:
    renamed = {"groups": {"BriefDescription": "Description"}}
    sim = await simulator_factory(dialect=Dialect(first_page=0, field_names=renamed))
    seed_firm(sim)
    env = env_for(sim, url)
    fitted = tmp_path / "fitted.toml"

    code, stdout, stderr = await syncer(
        env, "probe", "--format", "json", "--write-config", str(fitted)
    )
    assert code == ExitCode.CHANGES_PENDING, stderr
    checks = checks_by_id(orjson.loads(stdout))
    assert checks["paging.first_page"]["verdict"] == "differs"
    assert checks["paging.first_page"]["advice"] == "set cloud.api.first_page = 0"
    assert checks["fields.groups"]["advice"] == (
        'set cloud.api.field_names.groups = {BriefDescription = "Description"}'
    )
    assert writes(sim) == 0

    await fill(url, DESIRED)
    code, _, stderr = await syncer(env, "--config", str(fitted), "apply")
    assert code == ExitCode.OK, stderr
    assert_firm_matches_desired(sim)
    code, _, stderr = await syncer(env, "--config", str(fitted), "plan", "--detailed-exitcode")
    assert code == ExitCode.OK, stderr
    code, stdout, stderr = await syncer(env, "--config", str(fitted), "probe")
    assert code == ExitCode.OK, stderr
    assert "paging.first_page" in stdout
    assert "differs" not in stdout


async def test_rejected_credentials_exit_77_in_one_line_without_the_secret(
    simulator: RunningSimulator, url: str
) -> None:
    wrong = "not-the-secret-" + "x" * 20
    code, stdout, stderr = await syncer(env_for(simulator, url, secret=wrong), "probe")
    assert code == ExitCode.CREDENTIALS_REJECTED
    assert stderr.strip().count("\n") == 0
    assert "Traceback" not in stderr
    assert wrong not in stdout + stderr


async def test_an_unreachable_cloud_exits_69(simulator: RunningSimulator, url: str) -> None:
    env = env_for(simulator, url)
    port = unused_port()  # nothing listens there
    env.update(SYNCER_CLOUD__BASE_URL=f"http://127.0.0.1:{port}", SYNCER_CLOUD__MAX_RETRIES="0")
    code, _, stderr = await syncer(env, "probe")
    assert code == ExitCode.UNREACHABLE
    assert "Traceback" not in stderr


@asynccontextmanager
async def hostile(token: str | None) -> AsyncIterator[str]:
    """A gateway that answers ``auth/token`` with ``token`` (or none) and everything else with an
    HTML page: not what the API promises. Yields its base URL."""

    async def answer(request: web.Request) -> web.Response:
        if request.path.endswith("/auth/token"):
            return web.json_response({"Token": token} if token else {"status": "ok"})
        return web.Response(text="<html><body>Maintenance</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize(
    ("token", "said"),
    [(None, "Token is null"), ("a-token", "not a list of roles")],
    ids=["no-token", "html-lists"],
)
async def test_answers_the_api_does_not_promise_exit_76(
    simulator: RunningSimulator, url: str, token: str | None, said: str
) -> None:
    env = env_for(simulator, url)
    async with hostile(token) as base_url:
        env["SYNCER_CLOUD__BASE_URL"] = base_url
        code, stdout, stderr = await syncer(env, "probe")
    assert code == ExitCode.CLOUD_CONTRACT
    assert said in stderr
    assert "Traceback" not in stderr
    assert stdout == ""
