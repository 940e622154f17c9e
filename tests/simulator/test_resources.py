"""The resource surface over HTTP: CRUD, validation, uniqueness, 404s, paging, search, relations."""

from __future__ import annotations

import anyio
import pytest

from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio

ENTITY = {"EntityNo": "C-001", "Name": "Acme", "OwnerType": "Client", "CountryCode": "CA"}
USER = {"Email": "Ann@Example.com", "FirstName": "Ann", "LastName": "Lee", "OwnerType": "Staff"}


async def test_entity_create_get_patch_round_trip(api: Api) -> None:
    created = await api.call("POST", "entities", json={"entityno": "C-001", "NAME": "Acme"})
    assert created.status == 200
    entity = created.json
    assert entity["EntityNo"] == "C-001"
    assert (entity["Type"], entity["OwnerType"]) == ("A", "Client")
    assert isinstance(entity["Id"], int)

    fetched = await api.call("GET", f"entities/{entity['CWGuid'].upper()}")
    assert fetched.json == entity  # CWGuid compares case-insensitively

    patched = await api.call(
        "PATCH", f"entities/{entity['CWGuid']}", json={"OwnerType": "Client", "Type": "I"}
    )
    assert patched.status == 200
    assert patched.json["Type"] == "I"
    assert patched.json["Name"] == "Acme"


async def test_entity_patch_without_owner_type_is_400(api: Api) -> None:
    guid = (await api.call("POST", "entities", json=ENTITY)).json["CWGuid"]
    reply = await api.call("PATCH", f"entities/{guid}", json={"Name": "New"})
    assert reply.status == 400
    assert reply.json["errors"] == [{"field": "OwnerType", "message": "OwnerType is required"}]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("users", {**USER, "FirstName": "x" * 31}, "FirstName"),
        ("users", {k: v for k, v in USER.items() if k != "Email"}, "Email"),
        ("users", {k: v for k, v in USER.items() if k != "OwnerType"}, "OwnerType"),
        ("users", {**USER, "OwnerType": "Robot"}, "OwnerType"),
        ("users", {**USER, "Admin": "yes"}, "Admin"),
        ("users", {**USER, "InActiveDate": "31/12/2024"}, "InActiveDate"),
        ("users", {**USER, "UserName": "u" * 51}, "UserName"),
        ("entities", {**ENTITY, "EntityNo": "n" * 51}, "EntityNo"),
        ("entities", {"Name": "No number"}, "EntityNo"),
        ("groups", {"BriefDescription": "no name"}, "Name"),
    ],
)
async def test_validation_errors_are_400_naming_the_field(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    reply = await api.call("POST", path, json=body)
    assert reply.status == 400
    assert reply.json["message"]
    assert field in [e["field"] for e in reply.json["errors"]]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
async def test_malformed_bodies_are_400(api: Api, raw: bytes) -> None:
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    async with api.http.post(api.running.api_root + "users", data=raw, headers=headers) as r:
        assert r.status == 400


async def test_user_patch_must_carry_owner_type(api: Api) -> None:
    guid = (await api.call("POST", "users", json=USER)).json["CWGuid"]
    assert (await api.call("PATCH", f"users/{guid}", json={"Title": "CPA"})).status == 400
    reply = await api.call("PATCH", f"users/{guid}", json={"Title": "CPA", "OwnerType": "staff"})
    assert reply.status == 200
    assert (reply.json["Title"], reply.json["OwnerType"]) == ("CPA", "Staff")


async def test_user_defaults_deactivation_and_delete(api: Api) -> None:
    user = (await api.call("POST", "users", json=USER)).json
    assert user["UserName"] == "Ann@Example.com"
    assert (user["Type"], user["InActiveDate"], user["FirmWideRoleIds"]) == ("A", None, [])
    guid = user["CWGuid"]
    off = await api.call(
        "PATCH", f"users/{guid}", json={"OwnerType": "Staff", "Type": "I", "InActiveDate": None}
    )
    assert off.json["Type"] == "I"
    assert off.json["InActiveDate"] is not None  # the server dates a deactivation
    dated = await api.call(
        "PATCH",
        f"users/{guid}",
        json={"OwnerType": "Staff", "Type": "I", "InActiveDate": "2020-02-02"},
    )
    assert dated.json["InActiveDate"] == "2020-02-02"
    again = await api.call("PATCH", f"users/{guid}", json={"OwnerType": "Staff", "Type": "I"})
    assert again.json["InActiveDate"] == "2020-02-02"  # an existing date is kept
    on = await api.call(
        "PATCH", f"users/{guid}", json={"OwnerType": "Staff", "Type": "A", "InActiveDate": None}
    )
    assert (on.json["Type"], on.json["InActiveDate"]) == ("A", None)
    assert (await api.call("DELETE", f"users/{guid}")).status == 204
    assert (await api.call("GET", f"users/{guid}")).status == 404


@pytest.mark.parametrize(
    ("path", "first", "second"),
    [
        ("entities", ENTITY, {**ENTITY, "Name": "Other"}),
        ("users", USER, {**USER, "Email": "ann@EXAMPLE.com"}),
        ("groups", {"Name": "Audit"}, {"Name": "AUDIT"}),
    ],
)
async def test_duplicate_natural_key_is_409(
    api: Api, path: str, first: dict[str, object], second: dict[str, object]
) -> None:
    assert (await api.call("POST", path, json=first)).status == 200
    reply = await api.call("POST", path, json=second)
    assert reply.status == 409
    assert reply.json["errors"][0]["message"] == "must be unique"


async def test_patch_onto_another_objects_key_is_409(api: Api) -> None:
    await api.call("POST", "groups", json={"Name": "A"})
    b = (await api.call("POST", "groups", json={"Name": "B"})).json["CWGuid"]
    assert (await api.call("PATCH", f"groups/{b}", json={"Name": "a"})).status == 409
    assert (await api.call("PATCH", f"groups/{b}", json={"Name": "b2"})).status == 200


async def test_concurrent_duplicate_creates_yield_exactly_one_object(api: Api) -> None:
    statuses: list[int] = []

    async def create() -> None:
        statuses.append((await api.call("POST", "entities", json=ENTITY)).status)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(create)
    assert sorted(statuses) == [200] + [409] * 11
    listed = await api.call("GET", "entities", params={"search": "EntityNo = 'C-001'"})
    assert len(listed.json) == 1
    stats = api.running.control.snapshot_stats()
    assert stats["creates"]["entities"] == {"C-001": 1}
    assert stats["create_conflicts"]["entities"] == {"C-001": 11}


@pytest.mark.parametrize(
    "path",
    [
        "entities/00000000-0000-4000-8000-000000000000",
        "users/00000000-0000-4000-8000-000000000000",
        "groups/00000000-0000-4000-8000-000000000000",
        "roles/00000000-0000-4000-8000-000000000000",
        "groups/00000000-0000-4000-8000-000000000000/user-assignments",
        "entities/00000000-0000-4000-8000-000000000000/addresses",
    ],
)
async def test_unknown_cwguid_is_404(api: Api, path: str) -> None:
    reply = await api.call("GET", path)
    assert reply.status == 404
    assert "00000000-0000-4000-8000-000000000000" in reply.json["message"]


async def test_unknown_firm_is_404(api: Api) -> None:
    url = api.running.api_root.replace(f"/{api.running.firm}/", "/elsewhere/") + "roles"
    async with api.http.get(url, headers={"Authorization": f"Bearer {api.token}"}) as r:
        assert r.status == 404


async def test_paging_walks_to_the_end_in_id_order(api: Api) -> None:
    for n in range(7):
        api.running.control.seed("groups", {"Name": f"G{n}"})
    pages = []
    for page in range(1, 5):
        reply = await api.call("GET", "groups", params={"page": page, "pageSize": 3})
        assert reply.status == 200
        pages.append([g["Name"] for g in reply.json])
    assert pages == [["G0", "G1", "G2"], ["G3", "G4", "G5"], ["G6"], []]
    ids = [g["Id"] for g in (await api.call("GET", "groups")).json]
    assert ids == sorted(ids)


async def test_a_list_read_between_changes_shows_each_change(api: Api) -> None:
    """Pages are cut from a listing kept between changes: every create, rename and delete
    in between shows in the next page read."""

    async def names() -> list[str]:
        return [g["Name"] for g in (await api.call("GET", "groups", params={"pageSize": 2})).json]

    first = (await api.call("POST", "groups", json={"Name": "A"})).json
    assert await names() == ["A"]
    await api.call("POST", "groups", json={"Name": "B"})
    assert await names() == ["A", "B"]
    await api.call("PATCH", f"groups/{first['CWGuid']}", json={"Name": "A2"})
    assert await names() == ["A2", "B"]
    await api.call("DELETE", f"groups/{first['CWGuid']}")
    await api.call("POST", "groups", json={"Name": "C"})
    assert await names() == ["B", "C"]


async def test_default_page_size_is_25(api: Api) -> None:
    for n in range(30):
        api.running.control.seed("groups", {"Name": f"G{n:02}"})
    assert len((await api.call("GET", "groups")).json) == 25
    assert len((await api.call("GET", "groups", params={"pagesize": 100})).json) == 30


@pytest.mark.parametrize("params", [{"page": 0}, {"page": "x"}, {"pageSize": 101}, {"pageSize": 0}])
async def test_bad_paging_is_400(api: Api, params: dict[str, str | int]) -> None:
    assert (await api.call("GET", "roles", params=params)).status == 400


async def test_roles_are_seeded_with_the_built_ins(api: Api) -> None:
    names = [r["Name"] for r in (await api.call("GET", "roles", params={"pageSize": 100})).json]
    assert names == [
        "Admin",
        "Settings Admin",
        "Staff Admin",
        "Entities Admin",
        "Entity Access",
        "Viewer",
        "Editor",
        "Owner",
    ]
    assert (await api.call("POST", "roles", json={"Name": "New"})).status == 405


async def test_role_assignments_add_and_remove_numeric_ids(api: Api) -> None:
    roles = {r["Name"]: r for r in (await api.call("GET", "roles")).json}
    guid = (await api.call("POST", "users", json=USER)).json["CWGuid"]
    path = f"users/{guid}/role-assignments"
    wanted = [roles["Viewer"]["CWGuid"], roles["Admin"]["CWGuid"].upper()]
    added = await api.call("PATCH", path, json={"roleIds": wanted, "isRemove": False})
    assert added.status == 200
    assert added.json["FirmWideRoleIds"] == sorted([roles["Viewer"]["Id"], roles["Admin"]["Id"]])
    body = {"roleIds": [roles["Viewer"]["CWGuid"]], "isRemove": True}
    removed = await api.call("PATCH", path, json=body)
    assert removed.json["FirmWideRoleIds"] == [roles["Admin"]["Id"]]
    fetched = await api.call("GET", f"users/{guid}")
    assert fetched.json["FirmWideRoleIds"] == [roles["Admin"]["Id"]]
    bad = await api.call("PATCH", path, json={"roleIds": ["nope"], "isRemove": False})
    assert bad.status == 400
    assert (await api.call("PATCH", path, json={"roleIds": "x"})).status == 400


async def test_group_crud_and_member_assignments(api: Api) -> None:
    group = (await api.call("POST", "groups", json={"Name": "Audit", "briefdescription": "A"})).json
    assert group["BriefDescription"] == "A"
    users = [
        (await api.call("POST", "users", json={**USER, "Email": f"u{n}@x.com"})).json["CWGuid"]
        for n in range(3)
    ]
    path = f"groups/{group['CWGuid']}/user-assignments"
    added = await api.call("PATCH", path, json={"people": users, "isRemove": False})
    assert added.status == 200
    assert (await api.call("GET", path)).json == users
    assert (await api.call("GET", path, params={"page": 2, "pageSize": 2})).json == users[2:]
    await api.call("PATCH", path, json={"people": users[:1], "isRemove": True})
    assert (await api.call("GET", path)).json == users[1:]
    await api.call("DELETE", f"users/{users[1]}")
    assert (await api.call("GET", path)).json == users[2:]
    unknown = await api.call("PATCH", path, json={"people": ["nobody"], "isRemove": False})
    assert unknown.status == 400
    assert (await api.call("DELETE", f"groups/{group['CWGuid']}")).status == 204
    assert (await api.call("GET", path)).status == 404


async def test_addresses_return_a_bare_id_and_belong_to_their_entity(api: Api) -> None:
    entity = (await api.call("POST", "entities", json=ENTITY)).json
    base = f"entities/{entity['CWGuid']}/addresses"
    created = await api.call("POST", base, json={"Address1": "1 Main St", "City": "Ottawa"})
    assert created.status == 200
    assert isinstance(created.json, int)
    listed = (await api.call("GET", base)).json
    assert [(a["Id"], a["OwnerCWGuid"], a["AddressCategory"]) for a in listed] == [
        (created.json, entity["CWGuid"], "Business")
    ]
    patched = await api.call(
        "PATCH", f"entities/addresses/{listed[0]['CWGuid']}", json={"City": "Toronto"}
    )
    assert patched.json["City"] == "Toronto"
    too_long = await api.call("POST", base, json={"City": "c" * 101})
    assert too_long.status == 400


async def test_unknown_and_read_only_fields_are_ignored(api: Api) -> None:
    body = {**ENTITY, "Id": 999, "CWGuid": "mine", "Colour": "blue"}
    entity = (await api.call("POST", "entities", json=body)).json
    assert entity["Id"] != 999
    assert entity["CWGuid"] != "mine"
    assert "Colour" not in entity
