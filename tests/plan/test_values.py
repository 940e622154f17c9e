"""The generated per-kind compare functions: same changes and same messages as the field rules
written out plainly (``CHECKS``, ``normalise``), for every kind and every field."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.model import ENTITIES, OBJECT_KINDS, USERS, FieldSpec, ObjectKind, ValueType
from syncer.plan.changes import FieldChange
from syncer.plan.values import changes_source, compile_changes
from syncer.value_rules import CHECKS, normalise

FIELDS = [(kind, spec) for kind in OBJECT_KINDS.values() for spec in kind.fields]
FIELD_IDS = [f"{kind.name}.{spec.column}" for kind, spec in FIELDS]


def reference(
    kind: ObjectKind, values: Mapping[str, object], remote: Mapping[str, object]
) -> dict[str, FieldChange] | str:
    """The rules of values.py as a plain loop: check, trim, encode, compare normalised."""
    changes: dict[str, FieldChange] = {}
    for spec in kind.fields:
        value = values.get(spec.column)
        if value is None:
            continue
        problem = CHECKS[spec.value_type](spec, value)
        if problem is not None:
            return problem
        value = spec.codec.encode(value.strip() if isinstance(value, str) else value)
        have = remote.get(spec.api_name)
        if normalise(value, spec.case_insensitive) != normalise(have, spec.case_insensitive):
            changes[spec.api_name] = FieldChange(have, value)
    return changes


SAMPLES: list[object] = [
    "a",
    "A",
    " a ",
    "",
    "   ",
    "Staff",
    " staff",
    "Contact",
    "CA",
    "ca ",
    "x" * 31,
    "y" * 201,
    True,
    False,
    "A ",
    "I",
    0,
    1,
    2.5,
    ["a"],
]


def values_of(kind: ObjectKind) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {}, optional={spec.column: st.sampled_from(SAMPLES) for spec in kind.fields}
    )


def remote_of(kind: ObjectKind) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {}, optional={spec.api_name: st.none() | st.sampled_from(SAMPLES) for spec in kind.fields}
    )


@st.composite
def rows(draw: st.DrawFn) -> tuple[ObjectKind, dict[str, object], dict[str, object]]:
    kind = draw(st.sampled_from(list(OBJECT_KINDS.values())))
    return kind, draw(values_of(kind)), draw(remote_of(kind))


@settings(max_examples=400, deadline=None)
@given(rows())
def test_generated_code_agrees_with_the_plain_rules(
    case: tuple[ObjectKind, dict[str, object], dict[str, object]],
) -> None:
    kind, values, remote = case
    assert compile_changes(kind)(values, remote) == reference(kind, values, remote)


def bad_values(spec: FieldSpec) -> list[object]:
    """Values each check of ``spec`` refuses: wrong type, and for texts too long, not a choice."""
    if spec.value_type is ValueType.BOOL:
        return ["yes", 1]
    found: list[object] = [3, False]
    if spec.max_length is not None:
        found.append(" " + "x" * (spec.max_length + 1))
    if spec.choices is not None:
        found.append(" Robot ")
    return found


@pytest.mark.parametrize(("kind", "spec"), FIELDS, ids=FIELD_IDS)
def test_every_refused_value_gets_the_checks_message(kind: ObjectKind, spec: FieldSpec) -> None:
    changes = compile_changes(kind)
    for value in bad_values(spec):
        message = CHECKS[spec.value_type](spec, value)
        assert message is not None
        assert changes({spec.column: value}, {}) == message


def test_messages_name_the_column_and_the_limit() -> None:
    changes = compile_changes(USERS)
    assert changes({"first_name": " " + "x" * 31 + " "}, {}) == (
        "first_name is 31 characters long; at most 30 allowed"
    )
    assert changes({"owner_type": "Robot"}, {}) == (
        "owner_type must be one of Staff, Contact, got 'Robot'"
    )
    assert changes({"admin": "yes"}, {}) == "admin must be true or false, got str"
    assert changes({"title": 7}, {}) == "title must be text, got int"


def test_the_first_refused_field_in_model_order_is_reported() -> None:
    values = {"admin": "no", "first_name": 5}
    assert compile_changes(USERS)(values, {}) == "first_name must be text, got int"


def test_values_equal_once_normalised_are_no_change() -> None:
    changes = compile_changes(ENTITIES)
    remote = {"Name": "Acme", "CountryCode": " ca", "Type": "A", "OperatingName": None}
    values = {"name": " Acme ", "country_code": "CA", "active": True, "operating_name": " "}
    assert changes(values, remote) == {}


def test_a_create_sets_every_value_in_api_terms() -> None:
    values = {"name": " Acme ", "country_code": "CA", "active": False, "operating_name": None}
    assert compile_changes(ENTITIES)(values, {}) == {
        "Name": FieldChange(None, "Acme"),
        "CountryCode": FieldChange(None, "CA"),
        "Type": FieldChange(None, "I"),
    }


def test_case_matters_only_where_the_api_ignores_it() -> None:
    changes = compile_changes(ENTITIES)
    remote = {"Name": "acme", "CountryCode": "ca"}
    assert changes({"name": "Acme", "country_code": "CA"}, remote) == {
        "Name": FieldChange("acme", "Acme")
    }


def test_the_source_has_one_block_per_field_in_model_order() -> None:
    source = changes_source(USERS)
    positions = [source.index(f"values.get({spec.column!r})") for spec in USERS.fields]
    assert positions == sorted(positions)
    assert "for " not in source


@pytest.mark.parametrize(
    ("kind", "spec"),
    [(kind, spec) for kind, spec in FIELDS if spec.max_length is not None],
    ids=[i for i, (_, spec) in zip(FIELD_IDS, FIELDS, strict=True) if spec.max_length is not None],
)
def test_a_text_at_its_limit_once_trimmed_is_sent(kind: ObjectKind, spec: FieldSpec) -> None:
    assert spec.max_length is not None
    text = "x" * spec.max_length
    changes = compile_changes(kind)({spec.column: f" {text} "}, {})
    assert changes == {spec.api_name: FieldChange(None, text)}


def test_each_kind_is_compiled_once_per_process() -> None:
    """A worker plans once per job: the generated function is reused, not compiled again."""
    assert compile_changes(ENTITIES) is compile_changes(ENTITIES)
    assert compile_changes(USERS) is not compile_changes(ENTITIES)
