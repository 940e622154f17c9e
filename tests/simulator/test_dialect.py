"""The dialect knobs: each alternative to an ``[assumed]`` line, served over HTTP."""

from __future__ import annotations

import click
import pytest

from syncer.cli.simulate import dialect_of
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def names_on(api: Api, page: int, size: int = 1) -> tuple[int, list[str]]:
    reply = await api.call("GET", "roles", params={"page": page, "pageSize": size})
    return reply.status, [r["Name"] for r in reply.json] if reply.status == 200 else []


async def test_pages_can_be_numbered_from_zero(api: Api) -> None:
    assert (await names_on(api, 0))[0] == 400
    assert (await api.control("PATCH", "dialect", {"first_page": 0})).status == 200
    first, second = await names_on(api, 0), await names_on(api, 1)
    assert first == (200, ["Admin"])
    assert second == (200, ["Settings Admin"])


async def test_a_page_above_the_cap_is_refused_or_clamped(api: Api) -> None:
    await api.control("PATCH", "dialect", {"max_page_size": 3})
    assert (await names_on(api, 1, 4))[0] == 400
    await api.control("PATCH", "dialect", {"oversize_page": "clamp"})
    status, names = await names_on(api, 1, 4)
    assert (status, len(names)) == (200, 3)
    await api.control("PATCH", "dialect", {"default_page_size": 2})
    assert len((await api.call("GET", "roles")).json) == 2


async def test_a_renamed_field_is_served_bound_and_searched_under_its_new_name(api: Api) -> None:
    renamed = {"groups": {"BriefDescription": "Description"}}
    await api.control("PATCH", "dialect", {"field_names": renamed})
    made = await api.call("POST", "groups", json={"Name": "Audit", "Description": "Team"})
    assert made.json["Description"] == "Team"
    assert "BriefDescription" not in made.json
    ignored = await api.call("POST", "groups", json={"Name": "Tax", "BriefDescription": "Lost"})
    assert ignored.json["Description"] is None
    found = await api.call("GET", "groups", params={"search": "Description='team'"})
    assert [g["Name"] for g in found.json] == ["Audit"]
    stored = api.running.control.dump()["objects"]["groups"]
    assert stored[0]["BriefDescription"] == "Team"


async def test_quotes_can_be_escaped_with_a_backslash(api: Api) -> None:
    api.running.control.seed("entities", {"EntityNo": "E1", "Name": "O'Brien"})
    doubled = {"search": "Name='O''Brien'"}
    assert len((await api.call("GET", "entities", params=doubled)).json) == 1
    await api.control("PATCH", "dialect", {"search_quote_escape": "backslash"})
    assert (await api.call("GET", "entities", params=doubled)).status == 400
    slashed = {"search": "Name='O\\'Brien'"}
    assert len((await api.call("GET", "entities", params=slashed)).json) == 1


async def test_member_lists_roles_by_guid_and_a_stated_token_lifetime(api: Api) -> None:
    sim = api.running.control
    group = sim.seed("groups", {"Name": "Audit"})
    sim.seed("users", {"Email": "a@x.com", "OwnerType": "Staff", "FirmWideRoleIds": [1]})
    sim.set_dialect(members_readable=False, role_reference="CWGuid", advertise_token_lifetime=True)
    path = f"groups/{group['CWGuid']}/user-assignments"
    assert (await api.call("GET", path)).status == 405
    admin = sim.dump()["objects"]["roles"][0]
    assert (await api.call("GET", "users")).json[0]["FirmWideRoleIds"] == [admin["CWGuid"]]
    assert (await api.authenticate()).json["ExpiresIn"] == sim.sessions.lifetime_seconds


async def test_a_bad_dialect_is_refused_whole(api: Api) -> None:
    reply = await api.control("PATCH", "dialect", {"first_page": 2, "members_readable": False})
    assert reply.status == 400
    assert (await api.control("GET", "dialect")).json["members_readable"] is True


def test_rename_flags_become_field_names() -> None:
    dialect = dialect_of(("groups.BriefDescription=Description",), first_page=0)
    assert dialect.field_names == {"groups": {"BriefDescription": "Description"}}
    assert dialect.first_page == 0
    with pytest.raises(click.BadParameter):
        dialect_of(("groups=Description",))


def test_header_rename_flags_become_header_names() -> None:
    dialect = dialect_of((), ("X-RateLimit-Remaining=RateLimit-Left",))
    assert dialect.header_names == {"x-ratelimit-remaining": "RateLimit-Left"}
    with pytest.raises(click.BadParameter):
        dialect_of((), ("RateLimit-Left",))


async def test_renamed_headers_another_not_found_status_and_unstable_order(api: Api) -> None:
    sim = api.running.control
    for n in range(30):
        sim.seed("entities", {"EntityNo": f"C-{n:02d}", "Name": f"Client {n}"})
    sim.set_dialect(
        header_names={"x-ratelimit-remaining": "RateLimit-Left"},
        not_found_status=400,
        stable_order=False,
    )
    listed = await api.call("GET", "entities", params={"page": "1", "pageSize": "30"})
    headers = {name.lower() for name in listed.headers}
    assert "ratelimit-left" in headers
    assert "x-ratelimit-remaining" not in headers
    assert "x-ratelimit-replenish-rate" in headers
    numbers = [e["EntityNo"] for e in listed.json]
    assert sorted(numbers) == [f"C-{n:02d}" for n in range(30)]
    assert numbers != sorted(numbers)  # the order of one read...
    runs = [sorted(numbers[i : i + 7]) for i in range(0, 30, 7)]
    assert runs == [[f"C-{n:02d}" for n in range(i, min(i + 7, 30))] for i in range(0, 30, 7)]
    missing = await api.call("GET", "entities/00000000-0000-0000-0000-000000000000")
    assert missing.status == 400
    assert "has CWGuid" in missing.json["message"]
