"""The client end to end against the simulator over loopback: typed operations, errors, reading
the whole firm, sessions and retries."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from syncer.clock import ManualClock
from syncer.cloud.client import CloudClient
from syncer.cloud.errors import Conflict, NotFound, OutcomeUnknown, Rejected
from syncer.cloud.reader import read_cloud_state
from syncer.errors import CloudUnreachable, CredentialsRejected
from syncer.model import ENTITIES, GROUP_MEMBERS, GROUPS, USER_ROLES, USERS
from syncer.settings import CloudSettings
from syncer.simulator import RunningSimulator
from tests.fixtures.simulator import SimulatorFactory, cloud_settings

pytestmark = pytest.mark.anyio


def settings_for(sim: RunningSimulator, **changes: object) -> CloudSettings:
    base = cloud_settings(
        sim,
        page_size=5,
        max_retries=3,
    )
    return base.model_copy(update=changes)


@asynccontextmanager
async def client_for(sim: RunningSimulator, **changes: object) -> AsyncIterator[CloudClient]:
    async with CloudClient.open(settings_for(sim, **changes)) as client:
        yield client


async def test_create_find_update_and_page_through_entities(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        for n in range(12):
            body = {"EntityNo": f"C-{n:03}", "Name": f"Client {n}", "OwnerType": "Client"}
            await client.create(ENTITIES, body)
        listed = await client.list_objects(ENTITIES)
        assert sorted(str(o.fields["EntityNo"]) for o in listed) == [f"C-{n:03}" for n in range(12)]
        found = await client.find_by_key(ENTITIES, " C-007 ")
        assert found is not None
        assert found.fields["Name"] == "Client 7"
        updated = await client.update(
            ENTITIES, found.cwguid, {"Name": "O'Brien", "OwnerType": "Client"}
        )
        assert updated.fields["Name"] == "O'Brien"
        assert (await client.get(ENTITIES, found.cwguid)).fields["Name"] == "O'Brien"
        assert await client.find_by_key(ENTITIES, "C-999") is None
    # 12 creates, 3 pages (5, 5, 2), search, update, get, search, auth
    assert client.stats.auth_calls == 1


async def test_quotes_in_search_values_are_escaped(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        await client.create(GROUPS, {"Name": "O'Brien's team"})
        found = await client.find_by_key(GROUPS, "o'brien's TEAM")
        assert found is not None
        assert found.fields["Name"] == "O'Brien's team"


async def test_api_errors_carry_the_message_and_the_right_type(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        await client.create(USERS, {"Email": "a@x.com", "OwnerType": "Staff"})
        with pytest.raises(Conflict) as conflict:
            await client.create(USERS, {"Email": "A@x.com", "OwnerType": "Staff"})
        assert conflict.value.status == 409
        with pytest.raises(NotFound):
            await client.get(USERS, "00000000-0000-0000-0000-000000000000")
        with pytest.raises(Rejected) as rejected:
            await client.create(USERS, {"Email": "b@x.com"})
        assert "OwnerType" in str(rejected.value)


async def test_read_cloud_state_includes_members_and_roles(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        user = await client.create(USERS, {"Email": "m@x.com", "OwnerType": "Staff"})
        group = await client.create(GROUPS, {"Name": "Audit"})
        await client.change_members(GROUP_MEMBERS, group.cwguid, [user.cwguid], remove=False)
        roles = {r.fields["Name"]: r for r in await client.list_roles()}
        await client.change_members(USER_ROLES, user.cwguid, [roles["Viewer"].cwguid], remove=False)
        seen: list[str] = []
        state = await read_cloud_state(client, on_page=lambda kind, _n: seen.append(kind))
    assert state.links["group_members"] == frozenset({(group.cwguid, user.cwguid)})
    assert state.links["user_roles"] == frozenset({(user.cwguid, roles["Viewer"].cwguid)})
    assert {r.fields["Name"] for r in state.roles} >= {"Admin", "Viewer", "Owner"}
    assert {"entities", "users", "groups"} <= set(seen)


async def test_members_are_changed_in_batches(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        users = [
            await client.create(USERS, {"Email": f"u{n}@x.com", "OwnerType": "Staff"})
            for n in range(7)
        ]
        group = await client.create(GROUPS, {"Name": "Big"})
        in_threes = dataclasses.replace(GROUP_MEMBERS, batch_size=3)
        await client.change_members(
            in_threes, group.cwguid, [u.cwguid for u in users], remove=False
        )
        assert len(await client.list_members(GROUP_MEMBERS, group.cwguid)) == 7
        await client.change_members(GROUP_MEMBERS, group.cwguid, [users[0].cwguid], remove=True)
        assert len(await client.list_members(GROUP_MEMBERS, group.cwguid)) == 6
    patches = sum(
        sum(by_status.values())
        for route, by_status in simulator.control.snapshot_stats()["by_route"].items()
        if route.startswith("PATCH") and "user-assignments" in route
    )
    assert patches == 3 + 1  # 7 members in threes, then one removal


async def test_a_reset_secret_raises_credentials_rejected(simulator: RunningSimulator) -> None:
    async with client_for(simulator) as client:
        await client.list_objects(GROUPS)
        simulator.control.reset_secret(simulator.client_id)
        with pytest.raises(CredentialsRejected) as caught:
            await client.list_objects(GROUPS)
    assert simulator.client_secret not in str(caught.value)


async def test_tokens_are_renewed_inside_the_margin_before_the_server_expires_them(
    simulator_factory: SimulatorFactory,
) -> None:
    clock = ManualClock()  # shared: the server's sessions and the client's pool age together
    sim = await simulator_factory(clock=clock)
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        await client.list_objects(GROUPS)
        clock.advance(1501)  # inside the default 300 s margin before 1800 s
        await client.list_objects(GROUPS)
        clock.advance(1501)
        await client.list_objects(GROUPS)
    assert client.stats.auth_calls == 3
    assert client.stats.unauthorized == 0


async def test_a_401_gets_one_fresh_token_and_one_resend(
    simulator_factory: SimulatorFactory,
) -> None:
    clock = ManualClock()
    sim = await simulator_factory(clock=clock, token_lifetime_seconds=60)
    async with CloudClient.open(settings_for(sim), clock=clock) as client:
        await client.list_objects(GROUPS)
        clock.advance(61)  # the server expired it; the client still believes in it (1800 s)
        # a search keeps one page in flight, so exactly one request meets the expired token (a
        # whole list reads pages concurrently, and each page in flight would meet it)
        await client.find_by_key(GROUPS, "nobody")
    assert client.stats.unauthorized == 1
    assert client.stats.auth_calls == 2


async def test_server_errors_are_retried_for_reads_but_not_for_creates(
    simulator: RunningSimulator,
) -> None:
    async with client_for(simulator, max_retries=20) as client:
        await client.list_objects(GROUPS)  # authenticate before the faults start
        simulator.control.set_faults(
            seed=3, error_share=0.5, error_statuses=(503,), after_write=True
        )
        for n in range(10):  # searches: one page in flight, so every fault meets a read
            assert await client.find_by_key(GROUPS, f"missing {n}") is None
        assert client.stats.retries > 0
        outcomes: list[str] = []
        for n in range(10):
            try:
                await client.create(GROUPS, {"Name": f"G{n}"})
                outcomes.append("created")
            except OutcomeUnknown:
                outcomes.append("unknown")
        assert "unknown" in outcomes
    creates = simulator.control.snapshot_stats()["creates"]["groups"]
    assert all(count == 1 for count in creates.values())
    assert len(creates) == 10  # after_write: the unknown ones landed too


async def test_an_unreachable_server_is_cloud_unreachable() -> None:
    settings = CloudSettings(
        firm="x",
        base_url="http://127.0.0.1:9",
        client_id="id",
        max_retries=1,
        connect_timeout_seconds=1,
    )
    async with CloudClient.open(settings) as client:
        with pytest.raises(CloudUnreachable):
            await client.list_objects(GROUPS)


async def test_one_auth_call_for_a_hundred_concurrent_first_requests(
    simulator: RunningSimulator,
) -> None:
    async with client_for(simulator) as client, anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(client.list_objects, GROUPS)
    assert client.stats.auth_calls == 1
    assert simulator.control.snapshot_stats()["auth_calls"] == 1


async def test_no_secret_or_token_in_reprs_errors_or_logs(
    simulator: RunningSimulator,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = simulator.client_secret
    async with client_for(simulator) as client:
        await client.list_objects(GROUPS)
        texts = [repr(client), repr(settings_for(simulator))]
        tokens = list(simulator.control.sessions._sessions)  # issued so far (reset revokes them)
        assert tokens
        simulator.control.reset_secret(simulator.client_id)
        with pytest.raises(CredentialsRejected) as caught:
            await client.list_objects(GROUPS)
        texts.append(str(caught.value))
        texts.append(repr(caught.value))
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    for text in texts:
        assert secret not in text
        for token in tokens:
            assert token not in text
