"""The demo firm: deterministic, believable, consistent and within the API's limits."""

from __future__ import annotations

import pytest

from syncer.demo.data import INVALID_OWNER_TYPE, SIZES, Size, generate, mutate
from syncer.model import OBJECT_KINDS, RELATION_KINDS

BUILT_IN_ROLES = {
    "Admin",
    "Settings Admin",
    "Staff Admin",
    "Entities Admin",
    "Entity Access",
    "Viewer",
    "Editor",
    "Owner",
}


def test_the_same_seed_gives_the_same_firm_and_another_seed_another() -> None:
    assert generate(Size.SMALL, seed=7) == generate(Size.SMALL, seed=7)
    assert generate(Size.SMALL, seed=7).rows != generate(Size.SMALL, seed=8).rows


@pytest.mark.parametrize("size", list(Size))
def test_rows_fit_the_tables_and_the_api_limits(size: Size) -> None:
    data = generate(size)
    assert data.count("entities") == SIZES[size].clients
    for name, kind in OBJECT_KINDS.items():
        keys = [kind.normalise_key(str(row[kind.key_column])) for row in data.rows[name]]
        assert len(keys) == len(set(keys)), f"duplicate {name} keys"
        for row in data.rows[name]:
            assert set(row) == {kind.key_column, *(spec.column for spec in kind.fields)}
            for spec in kind.fields:
                value = row[spec.column]
                if isinstance(value, str) and spec.max_length:
                    assert len(value) <= spec.max_length, (name, spec.column, value)
                if spec.choices and value is not None:
                    assert value in spec.choices


def test_assignments_refer_to_rows_that_exist_and_to_built_in_roles() -> None:
    data = generate(Size.SMALL)
    emails = {row["email"] for row in data.rows["users"]}
    groups = {row["name"] for row in data.rows["groups"]}
    members = data.rows["group_members"]
    assert {m["user_email"] for m in members} <= emails
    assert {m["group_name"] for m in members} == groups
    roles = data.rows["user_roles"]
    assert {r["role_name"] for r in roles} <= BUILT_IN_ROLES
    assert {r["user_email"] for r in roles} == emails  # everyone may at least view
    for kind in RELATION_KINDS.values():
        pairs = [(row[kind.parent_column], row[kind.member_column]) for row in data.rows[kind.name]]
        assert len(pairs) == len(set(pairs))


def test_it_looks_like_a_firm() -> None:
    data = generate(Size.SMALL)
    first = data.rows["entities"][0]
    assert first["entity_no"] == "C-00001"
    assert str(first["name"]).split()[-1] in {"Ltd", "Inc.", "LLP", "Partners", "Co-operative",
                                              "Foundation", "Trust"}  # fmt: skip
    staff = [u for u in data.rows["users"] if u["owner_type"] == "Staff"]
    assert all(str(u["email"]).endswith(f"@{data.domain}") for u in staff)
    assert {u["title"] for u in staff} >= {"Partner", "Manager", "Staff Accountant"}
    assert any(u["owner_type"] == "Contact" for u in data.rows["users"])


def test_cloud_already_holds_some_matching_some_outdated_and_some_unrelated_objects() -> None:
    data = generate(Size.SMALL)
    desired = {row["entity_no"]: row for row in data.rows["entities"]}
    prior = data.seed_objects["entities"]
    matching = [o for o in prior if o["EntityNo"] in desired]
    assert any(o["Name"] == desired[o["EntityNo"]]["name"] for o in matching)
    assert any(o["Name"] != desired[o["EntityNo"]]["name"] for o in matching)
    assert any(o["EntityNo"] not in desired for o in prior)
    assert all(o["OwnerType"] == "Client" and o["Type"] in {"A", "I"} for o in prior)
    assert data.seed_objects["users"]
    assert data.seed_objects["groups"]


def test_mutate_makes_the_edits_it_describes() -> None:
    data = generate(Size.SMALL)
    changed, edits = mutate(data)
    assert [e.kind for e in edits] == [
        "entities",
        "users",
        "group_members",
        "entities",
        "users",
        "entity_addresses",
    ]
    before = {row["entity_no"]: row for row in data.rows["entities"]}
    after = {row["entity_no"]: row for row in changed.rows["entities"]}
    assert after[edits[0].key]["name"] != before[edits[0].key]["name"]
    assert edits[3].key not in before
    assert after[edits[3].key]["name"]
    hire = next(u for u in changed.rows["users"] if u["email"] == edits[4].key)
    assert hire["owner_type"] == INVALID_OWNER_TYPE
    leaver = next(u for u in changed.rows["users"] if u["email"] == edits[1].key)
    assert leaver["active"] is False
    group, email = edits[2].key.split("|")
    assert {"group_name": group, "user_email": email} in changed.rows["group_members"]
    assert {"group_name": group, "user_email": email} not in data.rows["group_members"]
