"""Field values: validation of desired values and the comparison rules of the planner.

Two values are equal when they normalise to the same thing: whitespace trimmed, case folded where
the API ignores case, and ``None`` equal to ``""`` (the API does not distinguish an empty field
from a missing one). Desired values are compared in API terms, after ``FieldSpec.codec``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from syncer.model import FieldSpec, ObjectKind, ValueType


def normalise(value: object, case_insensitive: bool) -> object:
    """The comparable form of a value (desired, encoded to API terms, or as the API sent it)."""
    if isinstance(value, str):
        trimmed = value.strip()
        if not trimmed:
            return None
        return trimmed.casefold() if case_insensitive else trimmed
    return value


def to_api(spec: FieldSpec, value: object) -> object:
    """The API spelling of a desired value: trimmed text, codec applied (``True`` -> ``"A"``)."""
    if isinstance(value, str):
        return value.strip()
    return spec.codec.encode(value)


def _check_text(spec: FieldSpec, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{spec.column} must be text, got {type(value).__name__}"
    trimmed = value.strip()
    if spec.max_length is not None and len(trimmed) > spec.max_length:
        return f"{spec.column} is {len(trimmed)} characters long; at most {spec.max_length} allowed"
    if spec.choices is not None and trimmed not in spec.choices:
        return f"{spec.column} must be one of {', '.join(spec.choices)}, got {trimmed!r}"
    return None


def _check_bool(spec: FieldSpec, value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{spec.column} must be true or false, got {type(value).__name__}"
    return None


CHECKS: Final[dict[ValueType, Callable[[FieldSpec, object], str | None]]] = {
    ValueType.TEXT: _check_text,
    ValueType.BOOL: _check_bool,
}
"""Value type -> check returning the reason a value cannot be sent, or ``None`` when it can."""


def key_problem(kind: ObjectKind, key: str) -> str | None:
    """Why a natural key cannot identify an object, or ``None`` when it can."""
    trimmed = key.strip()
    if not trimmed:
        return f"{kind.key_column} is empty"
    if kind.key_max_length is not None and len(trimmed) > kind.key_max_length:
        return (
            f"{kind.key_column} is {len(trimmed)} characters long; "
            f"at most {kind.key_max_length} allowed"
        )
    return None


def row_problem(kind: ObjectKind, key: str, values: Mapping[str, object]) -> str | None:
    """The first reason a desired row cannot be sent (key, then fields in model order)."""
    problem = key_problem(kind, key)
    if problem is not None:
        return problem
    for spec in kind.fields:
        value = values.get(spec.column)
        if value is not None:
            problem = CHECKS[spec.value_type](spec, value)
            if problem is not None:
                return problem
    return None
