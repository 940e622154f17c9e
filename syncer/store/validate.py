"""Validation of one desired-state row, driven by the resource kinds in ``syncer.model``.

The loader (CSV text) and the desired-state reader (SQL values, possibly from the firm's own
views) both validate through ``validate_row``, so a row is accepted or rejected the same way
whichever road it came by. Nothing here knows a column by name: types, lengths and choices come
from the ``FieldSpec`` of the column and are judged by ``syncer.value_rules`` (the same rules the
planner and adoption use), keys from the kind.

Conventions: text is trimmed; an empty value means ``None`` ("don't manage this field"); a key
may not be empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from syncer.model import (
    ALL_KINDS,
    OBJECT_KINDS,
    USERS,
    ChildKind,
    Kind,
    ObjectKind,
    RelationKind,
    kind_named,
)
from syncer.store.tables import KEY_LENGTH
from syncer.value_rules import as_text, check_length, desired_value

EMAIL_KINDS: Final = frozenset({USERS.name})
"""Kinds whose natural key is an e-mail address (checked for syntax wherever it appears)."""

_EMAIL: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


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
    referenced = OBJECT_KINDS.get(kind_name)
    return KeyRule(
        column=column,
        kind=kind_name,
        max_length=(referenced.key_max_length if referenced else None) or KEY_LENGTH,
        email=kind_name in EMAIL_KINDS,
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
    check_length(text, rule.max_length)
    bad = sorted(set(rule.forbidden) & set(text))
    if bad:
        raise ValueError(f"may not contain {' or '.join(map(repr, bad))}")
    if rule.email and not _EMAIL.fullmatch(text):
        raise ValueError(f"not a valid e-mail address: {text!r}")
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
