"""Validation of one desired-state row, driven by the resource kinds in ``syncer.model``.

The loader (CSV text) and the desired-state reader (SQL values, possibly from the firm's own
views) both validate through ``validate_row``, so a row is accepted or rejected the same way
whichever road it came by. Nothing here knows a column by name: types, lengths and choices come
from the ``FieldSpec`` of the column, keys from the kind (``key_limit``, ``key_is_email``), and
both are judged by ``syncer.value_rules`` (the same rules the planner and adoption use).

Conventions: text is trimmed; an empty value means ``None`` ("don't manage this field"); a key
may not be empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from syncer.model import (
    ALL_KINDS,
    OBJECT_KINDS,
    ROLES,
    ChildKind,
    Kind,
    ObjectKind,
    RelationKind,
    kind_named,
)
from syncer.value_rules import as_text, check_key_text, desired_value, key_limit


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why one column of a row was rejected."""

    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class KeyRule:
    """How a key column is checked and compared."""

    column: str
    kind: str
    max_length: int
    email: bool
    case_insensitive: bool
    forbidden: str = ""
    """Characters the key may not hold (a child's category: ``|`` separates key parts)."""

    def normalise(self, value: str) -> str:
        return value.casefold() if self.case_insensitive else value


def _rule(column: str, kind_name: str) -> KeyRule:
    """The rule of a key column naming an object of ``kind_name`` (or, for a relation's end, a
    role: judged by ``ROLES``' key rules, compared as written)."""
    referenced = OBJECT_KINDS.get(kind_name)
    judged = referenced or ROLES
    return KeyRule(
        column=column,
        kind=kind_name,
        max_length=key_limit(judged),
        email=judged.key_is_email,
        case_insensitive=referenced is not None and referenced.key_case_insensitive,
    )


def _rules_of(kind: Kind) -> tuple[KeyRule, ...]:
    if isinstance(kind, ObjectKind):
        return (_rule(kind.key_column, kind.name),)
    if isinstance(kind, ChildKind):
        category = KeyRule(
            kind.category_column, kind.name, kind.category_max_length, False, True, "|"
        )
        return (_rule(kind.parent_column, kind.parent_kind), category)
    return (
        _rule(kind.parent_column, kind.parent_kind),
        _rule(kind.member_column, kind.member_kind),
    )


_KEY_RULES: Final = {name: _rules_of(kind_named(name)) for name in ALL_KINDS}


def key_rules(kind: Kind) -> tuple[KeyRule, ...]:
    """The key columns of ``kind`` with their rules; a relation's refer to the kinds they name."""
    return _KEY_RULES[kind.name]


def columns_of(kind: Kind) -> tuple[str, ...]:
    """Every desired-state column of ``kind``: its key column(s) first, then managed fields."""
    keys = tuple(rule.column for rule in key_rules(kind))
    if isinstance(kind, RelationKind):
        return keys
    return (*keys, *(spec.column for spec in kind.fields))


def identity(kind: Kind, row: Mapping[str, object]) -> tuple[str, ...]:
    """The normalised key of a validated row: equal for rows Cloud would treat as one object."""
    return tuple(rule.normalise(str(row[rule.column])) for rule in key_rules(kind))


def display_key(kind: Kind, row: Mapping[str, object]) -> str:
    """The key as the user wrote it, for messages (``parent / member`` for a relation)."""
    return " / ".join(str(row.get(rule.column) or "") for rule in key_rules(kind))


def _key_value(rule: KeyRule, raw: object) -> str:
    text = as_text(raw)
    if text is None:
        raise ValueError("required")
    check_key_text(text, rule.max_length, email=rule.email, forbidden=rule.forbidden)
    return text


def validate_row(kind: Kind, raw: Mapping[str, object]) -> dict[str, object] | list[FieldError]:
    """Typed values for every column of ``kind`` present in ``raw``, or what is wrong with it.

    Key columns are always checked (missing means empty, which is an error); a managed column
    absent from ``raw`` is left out of the result, so a partial row updates only what it names.
    Every error of the row is reported, not just the first.
    """
    values: dict[str, object] = {}
    errors: list[FieldError] = []
    for rule in key_rules(kind):
        try:
            values[rule.column] = _key_value(rule, raw.get(rule.column))
        except ValueError as exc:
            errors.append(FieldError(rule.column, str(exc)))
    fields = () if isinstance(kind, RelationKind) else kind.fields
    for spec in fields:
        if spec.column not in raw:
            continue
        try:
            values[spec.column] = desired_value(spec, raw[spec.column])
        except ValueError as exc:
            errors.append(FieldError(spec.column, str(exc)))
    return errors or values
