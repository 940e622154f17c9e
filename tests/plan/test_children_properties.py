"""Properties of planning addresses over generated Cloud and desired states.

Applying the plan to an in-memory Cloud (creates add an address to the client, updates patch
it, adoptions enter the id map) and planning again leaves nothing to do; a create is never
planned for a client and category Cloud already holds, and no address ever disappears.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from syncer.model import ENTITY_ADDRESSES
from syncer.plan import Plan, PlanPolicy
from syncer.plan.changes import Action
from syncer.settings import SyncMode
from syncer.state import CloudState, DesiredChild, DesiredState, Origin, Ownership, RemoteObject
from tests.plan.factories import cloud, desired, entity, owns, plan, row

KIND = ENTITY_ADDRESSES.name
CLIENTS = ("C-1", "C-2", "C-3")
CATEGORIES = ("Business", "business", "Mailing", "Home")
CITIES = (None, "Toronto", "toronto", " Ottawa ")
POLICY = PlanPolicy(modes={KIND: SyncMode.MIRROR})

existing_addresses = st.lists(
    st.tuples(st.sampled_from(CLIENTS), st.sampled_from(CATEGORIES), st.sampled_from(CITIES)),
    max_size=6,
)
desired_addresses = st.dictionaries(
    st.tuples(st.sampled_from(CLIENTS), st.sampled_from(("Business", "Mailing", "Other"))),
    st.sampled_from(CITIES),
    max_size=6,
)


def _state(
    addresses: list[tuple[str, str, str | None]],
) -> tuple[CloudState, dict[tuple[str, str], Ownership]]:
    clients = [entity(no, guid=f"E-{no}") for no in CLIENTS]
    read: dict[str, list[RemoteObject]] = {f"e-{no}".lower(): [] for no in CLIENTS}
    for n, (no, category, city) in enumerate(addresses, start=1):
        fields = {"AddressCategory": category, "City": city, "OwnerCWGuid": f"E-{no}"}
        read[f"e-{no}".lower()].append(RemoteObject(f"A-{n}", n, fields))
    state = dataclasses.replace(
        cloud(entities=clients),
        children={KIND: {guid: tuple(children) for guid, children in read.items()}},
    )
    return state, owns(*(("entities", c) for c in clients))


def _wanted(addresses: dict[tuple[str, str], str | None]) -> DesiredState:
    rows = tuple(
        DesiredChild(no, category, {"city": city}, i)
        for i, ((no, category), city) in enumerate(sorted(addresses.items()))
    )
    entities = [row(no, name="Acme") for no in CLIENTS]
    return dataclasses.replace(desired(entities=entities), children={KIND: rows})


def _apply(state: CloudState, result: Plan, owned: dict[tuple[str, str], Ownership]) -> CloudState:
    read = {guid: list(children) for guid, children in state.children[KIND].items()}
    for own in result.adoptions:
        owned[own.kind, ENTITY_ADDRESSES.normalise_key(own.key)] = own
    next_id = 1000
    for change in result.changes:
        if change.kind != KIND:
            continue
        fields = {name: fc.after for name, fc in change.fields.items()}
        if change.action is Action.CREATE:
            parent = str(change.carry["parent_id"]).lower()
            next_id += 1
            made = RemoteObject(f"N-{next_id}", next_id, fields)
            read[parent].append(made)
            key = ENTITY_ADDRESSES.normalise_key(change.key)
            owned[KIND, key] = Ownership(KIND, change.key, made.cwguid, made.id, Origin.CREATED)
        else:
            for children in read.values():
                for i, child in enumerate(children):
                    if child.cwguid == change.remote_id:
                        children[i] = RemoteObject(
                            child.cwguid, child.id, {**child.fields, **fields}
                        )
    return dataclasses.replace(
        state, children={KIND: {guid: tuple(children) for guid, children in read.items()}}
    )


@given(existing_addresses, desired_addresses)
def test_applying_the_plan_leaves_nothing_to_do_and_creates_no_duplicate(
    existing: list[tuple[str, str, str | None]],
    wanted: dict[tuple[str, str], str | None],
) -> None:
    state, owned = _state(existing)
    want = _wanted(wanted)
    first = plan(want, state, owned, POLICY)
    held = {(no, category.casefold()) for no, category, _ in existing}
    for change in first.changes:
        assert change.action in (Action.CREATE, Action.UPDATE), "addresses are never retired"
        if change.action is Action.CREATE:
            no, category = ENTITY_ADDRESSES.split_key(change.key)
            assert (no, category.casefold()) not in held, "Cloud already holds this address"

    after = _apply(state, first, owned)

    assert sum(map(len, after.children[KIND].values())) >= len(existing)
    again = plan(want, after, owned, POLICY)
    assert [c for c in again.changes if c.kind == KIND] == []
    assert [a for a in again.adoptions if a.kind == KIND] == []
