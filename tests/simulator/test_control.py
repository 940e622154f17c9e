"""The control plane, state dump and reset, the OpenAPI description, and the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import anyio
import pytest
from anyio.streams.text import TextReceiveStream
from openapi_spec_validator import validate

from syncer.simulator import RunningSimulator, SimulatorConfig, serve_simulator
from syncer.simulator.api import API_PREFIX, ROUTES
from syncer.simulator.app import build_app
from syncer.simulator.control import CONTROL_ROUTES
from syncer.simulator.openapi import OPENAPI_PATH
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def test_register_client_over_http(api: Api) -> None:
    reply = await api.control("POST", "clients", {"client_id": "second"})
    assert reply.status == 200
    assert reply.json["client_secret"]
    assert (await api.authenticate("second", reply.json["client_secret"])).status == 200
    assert (await api.control("POST", "clients", {"colour": "x"})).status == 400
    assert (await api.control("POST", "clients", {"read_only": "yes"})).status == 400


async def test_seed_objects_and_relations_over_http(api: Api) -> None:
    entity = (await api.control("POST", "seed/entities", {"EntityNo": "E1", "Name": "E"})).json
    users = (
        await api.control(
            "POST",
            "seed/users",
            [{"Email": f"u{n}@x.com", "OwnerType": "Contact"} for n in range(2)],
        )
    ).json
    group = (await api.control("POST", "seed/groups", {"Name": "G"})).json
    members = {"parent": group["CWGuid"], "members": [u["CWGuid"] for u in users]}
    assert (await api.control("POST", "seed/group_members", members)).status == 200
    admin = (await api.call("GET", "roles", params={"search": "Name = 'Admin'"})).json[0]
    roles = {"parent": users[0]["CWGuid"], "members": [admin["CWGuid"]]}
    assert (await api.control("POST", "seed/user_roles", roles)).json["FirmWideRoleIds"] == [
        admin["Id"]
    ]
    address = {"OwnerCWGuid": entity["CWGuid"], "City": "Ottawa"}
    assert (await api.control("POST", "seed/addresses", address)).status == 200
    path = f"groups/{group['CWGuid']}/user-assignments"
    assert (await api.call("GET", path)).json == [u["CWGuid"] for u in users]
    assert (
        await api.control("POST", "seed/entities", {"EntityNo": "E1", "Name": "x"})
    ).status == 409
    assert (await api.control("POST", "seed/planets", {"Name": "x"})).status == 400
    assert (await api.control("POST", "seed/users", {"Email": "no-owner@x.com"})).status == 400
    stats = api.running.control.snapshot_stats()
    assert stats["creates"] == {}  # seeding is not traffic


async def test_state_dump_holds_no_secret_or_token(api: Api) -> None:
    await api.call("POST", "groups", json={"Name": "G"})
    reply = await api.control("GET", "state")
    text = reply.raw.decode()
    assert api.running.client_secret not in text
    assert api.token is not None
    assert api.token not in text
    state = reply.json
    assert state["clients"] == [
        {"client_id": api.running.client_id, "read_only": False, "live_sessions": 1}
    ]
    assert [g["Name"] for g in state["objects"]["groups"]] == ["G"]
    assert api.running.client_secret not in repr(api.running.control.clients)
    assert api.running.client_secret not in repr(api.running)


async def test_reset_forgets_objects_sessions_and_stats_but_keeps_clients(api: Api) -> None:
    await api.call("POST", "groups", json={"Name": "G"})
    assert (await api.control("POST", "reset")).status == 204
    assert (await api.call("GET", "groups")).status == 401
    assert (await api.authenticate()).status == 200
    assert (await api.call("GET", "groups")).json == []
    assert len((await api.call("GET", "roles")).json) == 8
    stats = (await api.control("GET", "stats")).json
    assert stats["auth_calls"] == 1


async def test_control_plane_is_not_rate_limited(api: Api) -> None:
    api.running.control.set_limits(burst_capacity=0)
    for _ in range(5):
        reply = await api.control("GET", "stats")
        assert reply.status == 200
        assert "x-ratelimit-remaining" not in reply.headers


async def test_openapi_describes_exactly_the_served_routes(api: Api) -> None:
    doc = (await api.control("GET", OPENAPI_PATH.removeprefix("/_sim/"))).json
    validate(doc)  # a valid OpenAPI 3.1 document
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    app = build_app(api.running.control)
    app_routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    assert described == app_routes
    assert {(r.method, API_PREFIX + r.path) for r in ROUTES} <= described
    assert {(r.method, r.path) for r in CONTROL_ROUTES} <= described
    entity = doc["components"]["schemas"]["entities"]["properties"]
    assert entity["EntityNo"]["maxLength"] == 50
    token_op = doc["paths"][API_PREFIX + "auth/token"]["post"]
    assert "x-ratelimit-remaining" in token_op["responses"]["429"]["headers"]


async def test_serve_simulator_uses_a_free_port_and_the_firm() -> None:
    async with serve_simulator(SimulatorConfig(firm="acme")) as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        assert running.api_root == f"{running.base_url}/acme/ms/caseware-cloud/api/v2/"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                running.api_root + "auth/token",
                json={"ClientId": running.client_id, "ClientSecret": running.client_secret},
            ) as reply,
        ):
            assert reply.status == 200


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_cli_prints_url_and_credentials_and_serves_until_stopped(
    stop: signal.Signals, code: int
) -> None:
    """Started as a script's background job is (SIGINT ignored, which the process inherits), the
    simulator still stops on SIGINT, and on SIGTERM, with its documented exit code."""
    syncer = Path(sys.executable).with_name("syncer")
    command = [str(syncer), "simulate", "--port", "0", "--client-id", "ID"]
    command += ["--client-secret", "SECRET", "--firm", "cli"]
    command += ["--burst-capacity", "1", "--replenish-rate", "1"]
    in_background = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    async with await anyio.open_process(in_background, stderr=subprocess.DEVNULL) as proc:
        try:
            assert proc.stdout is not None
            printed = ""
            with anyio.fail_after(20):
                async for chunk in TextReceiveStream(proc.stdout):
                    printed += chunk
                    if "Ctrl+C" in printed:
                        break
            assert "client secret: SECRET" in printed
            root = next(line.split()[-1] for line in printed.splitlines() if "API root" in line)
            async with aiohttp.ClientSession() as http:
                body = {"ClientId": "ID", "ClientSecret": "SECRET"}
                async with http.post(root + "auth/token", json=body) as reply:
                    assert reply.status == 200
                async with http.post(root + "auth/token", json=body) as reply:
                    assert reply.status == 429
                    assert reply.headers["x-ratelimit-burst-capacity"] == "1"
        finally:
            proc.send_signal(stop)
            with anyio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()  # not left running: leaving the block would wait for it forever
    assert proc.returncode == code


async def test_the_shared_fixture_exposes_the_documented_attributes(
    simulator: RunningSimulator,
) -> None:
    assert simulator.base_url.startswith("http://127.0.0.1:")
    assert simulator.firm == "demo"
    assert simulator.api_root == f"{simulator.base_url}/demo/ms/caseware-cloud/api/v2/"
    assert (simulator.client_id, simulator.client_secret) == (
        simulator.control.clients[0].client_id,
        simulator.control.clients[0].client_secret,
    )
    assert simulator.control.limits.burst_capacity >= 1000
