"""Planning entity addresses: children of entities, matched by category, never retired."""

from __future__ import annotations

import dataclasses

from syncer.plan import PlanPolicy
from syncer.plan.changes import Action, FieldChange
from syncer.settings import SyncMode
from syncer.state import CloudState, DesiredChild, DesiredState, InvalidRow, RemoteObject
from tests.plan.factories import cloud, desired, entity, owns, plan, row

KIND = "entity_addresses"


def address(owner: str, category: str, guid: str, num: int, **fields: object) -> RemoteObject:
    return RemoteObject(guid, num, {"AddressCategory": category, "OwnerCWGuid": owner, **fields})


def wanting(state: DesiredState, *children: DesiredChild) -> DesiredState:
    return dataclasses.replace(state, children={KIND: children})


def having(state: CloudState, read: dict[str, tuple[RemoteObject, ...]]) -> CloudState:
    return dataclasses.replace(state, children={KIND: read})


def child(parent: str, category: str, line: int = 1, **values: object) -> DesiredChild:
    return DesiredChild(parent, category, values, line)


def test_an_address_of_a_new_client_is_created_after_it_with_its_category() -> None:
    want = wanting(desired(entities=[row("C-1", name="Acme")]), child("C-1", "Business", city="X"))

    result = plan(want, cloud())

    assert [(c.kind, c.action, c.key) for c in result.changes] == [
        ("entities", Action.CREATE, "C-1"),
        (KIND, Action.CREATE, "C-1|Business"),
    ]
    created = result.changes[1]
    assert created.fields == {
        "AddressCategory": FieldChange(None, "Business"),
        "City": FieldChange(None, "X"),
    }
    assert created.carry == {"parent_id": None}


def test_matched_by_category_in_any_case_updated_field_by_field_and_adopted() -> None:
    acme = entity("C-1", guid="E-1")
    low = address("E-1", "business", "A-1", 1, City="Old", Address1="1 Main")
    high = address("E-1", "Business", "A-2", 2, City="Other")
    stray = address("E-1", "Home", "A-3", 3, City="Elsewhere")
    want = wanting(
        desired(entities=[row("C-1", name="Acme")]),
        child("C-1", "Business", city="New", address1="1 Main"),
    )
    policy = PlanPolicy(modes={KIND: SyncMode.MIRROR, "entities": SyncMode.MIRROR})

    result = plan(want, having(cloud(entities=[acme]), {"e-1": (high, stray, low)}), policy=policy)

    assert [(c.action, c.key, c.remote_id, dict(c.fields)) for c in result.changes] == [
        (Action.UPDATE, "C-1|Business", "A-1", {"City": FieldChange("Old", "New")})
    ]
    assert [(o.kind, o.key, o.cwguid) for o in result.adoptions if o.kind == KIND] == [
        (KIND, "C-1|Business", "A-1")
    ]
    assert result.summary[KIND].delete == 0, "mirror mode never deletes an address"


def test_a_client_not_read_is_known_in_step_and_costs_nothing() -> None:
    acme = entity("C-1", guid="E-1")
    want = wanting(desired(entities=[row("C-1", name="Acme")]), child("C-1", "Mailing", city="Y"))

    result = plan(want, having(cloud(entities=[acme]), {}), owns(("entities", acme)))

    assert result.changes == ()
    assert result.summary[KIND].noop == 1


def test_an_address_of_an_invalid_or_missing_client_is_an_invalid_row() -> None:
    bad = InvalidRow("entities", "C-2", "name: longer than 200 characters (300)", 2)
    want = wanting(
        desired(entities=[row("C-1", name="Acme")], invalid=[bad]),
        child("C-2", "Business", line=1),
        child("C-9", "Business", line=2),
    )

    result = plan(want, cloud())

    assert [r for r in result.invalid if r.kind == KIND] == [
        InvalidRow(
            KIND, "C-2|Business", "entity_no 'C-2' is an invalid row of desired entities", 1
        ),
        InvalidRow(
            KIND, "C-9|Business", "entity_no 'C-9' is neither in desired entities nor in Cloud", 2
        ),
    ]


def test_an_address_waits_with_its_client_when_the_mode_holds_the_client_back() -> None:
    want = wanting(desired(entities=[row("C-1", name="Acme")]), child("C-1", "Business", city="Z"))
    policy = PlanPolicy(modes={"entities": SyncMode.UPDATE_ONLY})

    result = plan(want, cloud(), policy=policy)

    assert result.changes == ()
    assert [(b.change.key, b.reason) for b in result.skipped if b.change.kind == KIND] == [
        ("C-1|Business", "'C-1' is not created: entities mode is update-only")
    ]
