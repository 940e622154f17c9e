"""Sessions over HTTP: tokens, 401s, several clients and sessions, secret reset, expiry."""

from __future__ import annotations

import aiohttp
import pytest

from syncer.clock import ManualClock
from syncer.simulator import ClientSpec, RunningSimulator
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def test_token_is_issued_and_opens_the_api(api: Api) -> None:
    assert api.token
    assert (await api.call("GET", "roles")).status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"ClientId": "nobody", "ClientSecret": "x"},
        {"ClientId": "wrong-secret", "ClientSecret": "x"},
        {"ClientSecret": "x"},
        {},
    ],
)
async def test_bad_credentials_are_401(
    http: aiohttp.ClientSession, simulator: RunningSimulator, body: dict[str, str]
) -> None:
    if body.get("ClientId") == "wrong-secret":
        body = {"ClientId": simulator.client_id, "ClientSecret": "not-the-secret"}
    reply = await Api(http, simulator).call("POST", "auth/token", json=body, token=None)
    assert reply.status == 401
    assert reply.json["message"]
    assert simulator.control.snapshot_stats()["unauthorized"] == 1


async def test_credential_fields_bind_case_insensitively(
    http: aiohttp.ClientSession, simulator: RunningSimulator
) -> None:
    body = {"clientid": simulator.client_id, "CLIENTSECRET": simulator.client_secret}
    reply = await Api(http, simulator).call("POST", "auth/token", json=body, token=None)
    assert reply.status == 200


@pytest.mark.parametrize("token", [None, "made-up"])
async def test_missing_or_unknown_bearer_is_401(api: Api, token: str | None) -> None:
    reply = await api.call("GET", "entities", token=token)
    assert reply.status == 401
    assert set(reply.json) == {"message", "errors"}


async def test_sessions_are_independent_and_all_stay_valid(api: Api) -> None:
    first = api.token
    assert (await api.authenticate()).status == 200
    second = api.token
    assert first != second
    for token in (first, second):
        assert (await api.call("GET", "roles", token=token)).status == 200
    clients = api.running.control.dump()["clients"]
    assert clients[0]["live_sessions"] == 2


async def test_secret_reset_revokes_every_session_of_that_client_only(api: Api) -> None:
    sim = api.running.control
    other = sim.register_client(ClientSpec("other", "other-secret"))
    old_tokens = [api.token]
    await api.authenticate()
    old_tokens.append(api.token)
    other_api = Api(api.http, api.running)
    assert (await other_api.authenticate(other.client_id, other.client_secret)).status == 200

    old_secret = api.running.client_secret
    new_secret = sim.reset_secret(api.running.client_id)
    assert api.running.client_secret == new_secret

    for token in old_tokens:
        assert (await api.call("GET", "roles", token=token)).status == 401
    assert (await api.authenticate(secret=old_secret)).status == 401  # the old secret is refused
    assert (await api.authenticate()).status == 200
    assert (await api.call("GET", "roles")).status == 200
    assert (await other_api.call("GET", "roles")).status == 200


async def test_reset_secret_over_the_control_plane(api: Api) -> None:
    reply = await api.control(
        "POST", f"clients/{api.running.client_id}/reset-secret", {"client_secret": "fresh"}
    )
    assert reply.status == 200
    assert (await api.call("GET", "roles")).status == 401
    assert (await api.authenticate(secret="fresh")).status == 200
    assert (await api.control("POST", "clients/unknown/reset-secret")).status == 404


async def test_token_expires_after_its_absolute_lifetime(
    http: aiohttp.ClientSession, simulator_factory: SimulatorFactory
) -> None:
    clock = ManualClock()
    running = await simulator_factory(clock=clock, token_lifetime_seconds=1800)
    api = Api(http, running)
    await api.authenticate()
    clock.advance(1799)
    assert (await api.call("GET", "roles")).status == 200  # use does not extend it
    clock.advance(1)
    assert (await api.call("GET", "roles")).status == 401
    assert (await api.authenticate()).status == 200


async def test_token_lifetime_can_be_changed_for_new_sessions(
    http: aiohttp.ClientSession, simulator_factory: SimulatorFactory
) -> None:
    clock = ManualClock()
    running = await simulator_factory(clock=clock)
    api = Api(http, running)
    await api.authenticate()
    long_lived = api.token
    assert (await api.control("PUT", "token-lifetime", {"seconds": 60})).status == 200
    await api.authenticate()
    clock.advance(61)
    assert (await api.call("GET", "roles")).status == 401
    assert (await api.call("GET", "roles", token=long_lived)).status == 200


async def test_read_only_client_gets_403_on_writes(
    http: aiohttp.ClientSession, simulator: RunningSimulator
) -> None:
    reader = Api(http, simulator)
    reply = await reader.control("POST", "clients", {"client_id": "reader", "read_only": True})
    assert reply.status == 200
    assert (await reader.authenticate("reader", reply.json["client_secret"])).status == 200
    assert (await reader.call("GET", "entities")).status == 200
    created = await reader.call("POST", "entities", json={"EntityNo": "X", "Name": "X"})
    assert created.status == 403
