"""One source of truth for field values and keys (issue #10): for every ``FieldSpec`` and a table
of values, the door (``store.validate``), the planner (its generated hot loop) and adoption
(``value_rules.api_differences``) give the verdicts ``syncer.value_rules`` documents; for every
kind's key and a table of keys, the door and the planner accept and refuse the same keys."""

from __future__ import annotations

import pytest

from syncer.model import (
    CHILD_KINDS,
    OBJECT_KINDS,
    RELATION_KINDS,
    ROLES,
    ChildKind,
    FieldSpec,
    ObjectKind,
    RelationKind,
    ValueType,
)
from syncer.plan.values import compile_changes
from syncer.state import Origin, Ownership, RemoteObject
from syncer.store.validate import FieldError, validate_row
from syncer.value_rules import api_differences, differs, is_choice, key_limit, key_problem
from tests.plan.factories import cloud, desired, entity, group, plan, row, user

SpecKind = ObjectKind | ChildKind
FIELDS = [
    (kind, spec) for kind in (*OBJECT_KINDS.values(), *CHILD_KINDS.values()) for spec in kind.fields
]
FIELD_IDS = [f"{kind.name}.{spec.column}" for kind, spec in FIELDS]
KEYS = {"entity_no": "C-1", "email": "ann@example.com", "name": "Team", "category": "Business"}
"""A valid key for every kind's key columns (a field sharing a key's column name is overridden)."""


def through_the_door(kind: SpecKind, spec: FieldSpec, raw: object) -> tuple[bool, object]:
    """(accepted, typed value or reason) of ``raw`` in ``spec``'s column of a valid row."""
    result = validate_row(kind, {**KEYS, spec.column: raw})
    if isinstance(result, list):
        errors = [e for e in result if isinstance(e, FieldError) and e.column == spec.column]
        assert errors, result
        return False, errors[0].reason
    return True, result[spec.column]


def planned(kind: SpecKind, values: dict[str, object], remote: dict[str, object]) -> object:
    return compile_changes(kind)(values, remote)


def raw_values(spec: FieldSpec) -> list[object]:
    """The table: ordinary, blank, padded, at and past the limit, every choice in three cases."""
    if spec.value_type is ValueType.BOOL:
        return [True, False, "yes", " N ", "1", 0, 1, "", "maybe", 2]
    found: list[object] = ["a", " Ab ", "", "   ", "Robot", 7]
    if spec.max_length is not None:
        found += [" " + "x" * spec.max_length + " ", "x" * (spec.max_length + 1)]
    for choice in spec.choices or ():
        found += [choice, choice.upper(), f" {choice.lower()} "]
    return found


def remote_values(sent: object) -> list[object]:
    """What Cloud might hold for a field the planner would set to ``sent``."""
    found: list[object] = [None, "", "other", True, "A", "I", sent]
    if isinstance(sent, str):
        found += [sent.upper(), sent.lower(), f" {sent} "]
    return found


@pytest.mark.parametrize(("kind", "spec"), FIELDS, ids=FIELD_IDS)
def test_the_door_the_planner_and_adoption_agree(kind: SpecKind, spec: FieldSpec) -> None:
    for raw in raw_values(spec):
        accepted, typed = through_the_door(kind, spec, raw)
        if not accepted:
            # Refused at the door: the planner refuses the same value were it handed over raw.
            assert isinstance(planned(kind, {spec.column: raw}, {}), str), raw
            continue
        # The door's value passes the door again unchanged, and the planner sends it.
        assert through_the_door(kind, spec, typed) == (True, typed)
        created = planned(kind, {spec.column: typed}, {})
        assert isinstance(created, dict), (raw, created)
        if typed is None:
            assert created == {}
            continue
        sent = created[spec.api_name].after
        assert sent == spec.codec.encode(typed)
        for have in remote_values(sent):
            remote = {spec.api_name: have}
            update = planned(kind, {spec.column: typed}, remote)
            assert isinstance(update, dict)
            adopted = api_differences(kind.fields, {spec.api_name: sent}, remote)
            assert (spec.api_name in update) is (spec.api_name in adopted), (raw, have)
            assert (spec.api_name in update) is differs(sent, have, spec.case_insensitive)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [(kind, spec) for kind, spec in FIELDS if spec.choices is not None],
    ids=[i for i, (_, spec) in zip(FIELD_IDS, FIELDS, strict=True) if spec.choices is not None],
)
def test_a_choice_is_matched_ignoring_case_at_the_door_and_canonical_after(
    kind: SpecKind, spec: FieldSpec
) -> None:
    """The one place the three used to disagree: what the user sees is the door's rule (any
    case in, the canonical spelling out); past the door only the canonical spelling is valid."""
    assert spec.choices is not None
    for choice in spec.choices:
        for spelling in (choice.upper(), choice.lower(), f" {choice.swapcase()} "):
            assert through_the_door(kind, spec, spelling) == (True, choice)
            assert is_choice(spec, choice)
            assert not is_choice(spec, spelling.strip())
            assert isinstance(planned(kind, {spec.column: spelling}, {}), str)


def test_adoption_compares_unmanaged_fields_exactly() -> None:
    """A constant the kind sends (``OwnerType``) has no spec: any difference, case too, counts."""
    kind = OBJECT_KINDS["entities"]
    body = {"OwnerType": "Client", "CountryCode": "CA", "Name": "Acme"}
    remote = {"OwnerType": "client", "CountryCode": " ca ", "Name": "Acme "}
    assert api_differences(kind.fields, body, remote) == {"OwnerType": "Client"}


REQUIRED = {"owner_type": "Staff"}
"""A valid value for every column a create requires."""
OLD: dict[str, RemoteObject] = {
    "entities": entity("C-OLD"),
    "users": user("old@example.com"),
    "groups": group("Old name"),
}
"""An object Cloud holds under another key, which the id map says is the desired row's."""


def raw_keys(kind: ObjectKind) -> list[str]:
    """The table: ordinary, blank, padded, at and past the limit, e-mail addresses good and bad
    (one exactly at the limit)."""
    limit = key_limit(kind)
    local = "x" * (limit - len("@example.com"))
    return [
        *("a", " Ab ", "", "   ", "x" * limit, "x" * (limit + 1), f" {'x' * limit} "),
        *("ann@example.com", " Ann@Example.COM ", "a|b@example.com", "a.b+c@mail.example.org"),
        *("not-an-email", "ann@example", "ann@@example.com", "@example.com", "ann@.com"),
        *(f"{local}@example.com", f"{local}x@example.com"),
    ]


def door_accepts_key(kind: ObjectKind | RelationKind, column: str, key: str) -> bool:
    result = validate_row(kind, {**KEYS, column: key})
    return not isinstance(result, list) or all(error.column != column for error in result)


def planner_accepts_key(kind: ObjectKind, key: str, *, renamed: bool) -> bool:
    """Whether the planner plans the row (a create, or with ``renamed`` the rename of the object
    the id map gives it) rather than listing it invalid."""
    values = {column: REQUIRED[column] for column in kind.required_on_create}
    want = desired(**{kind.name: [row(key, 1, **values)]}, complete=frozenset())
    if not renamed:
        return not plan(want, cloud()).invalid
    old = OLD[kind.name]
    owned = {
        (kind.name, kind.normalise_key(key)): Ownership(
            kind.name, key, old.cwguid, None, Origin.ADOPTED
        )
    }
    return not plan(want, cloud(**{kind.name: [old]}), owned).invalid


@pytest.mark.parametrize("kind", OBJECT_KINDS.values(), ids=list(OBJECT_KINDS))
def test_the_door_and_the_planner_judge_keys_alike(kind: ObjectKind) -> None:
    """Every key the door refuses, the planner refuses wherever it would send it (a create, a
    rename), and the reverse."""
    for key in raw_keys(kind):
        door = door_accepts_key(kind, kind.key_column, key)
        assert planner_accepts_key(kind, key, renamed=False) is door, key
        assert planner_accepts_key(kind, key, renamed=True) is door, key
        assert (key_problem(kind, key) is None) is door, key


@pytest.mark.parametrize("relation", RELATION_KINDS.values(), ids=list(RELATION_KINDS))
def test_an_assignments_ends_are_judged_by_their_kinds_key_rules(relation: RelationKind) -> None:
    for column, kind_name in (
        (relation.parent_column, relation.parent_kind),
        (relation.member_column, relation.member_kind),
    ):
        kind = OBJECT_KINDS.get(kind_name, ROLES)
        for key in raw_keys(kind):
            expected = key.strip() != "" and key_problem(kind, key) is None
            assert door_accepts_key(relation, column, key) is expected, (column, key)
