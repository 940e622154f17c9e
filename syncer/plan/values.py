"""Field values: validation of desired values and the comparison rules of the planner.

Two values are equal when they normalise to the same thing: whitespace trimmed, case folded where
the API ignores case, and ``None`` equal to ``""`` (the API does not distinguish an empty field
from a missing one). Desired values are compared in API terms, after ``FieldSpec.codec``.

This is the planner's hot loop (once per field of every desired row), so each kind's fields are
compiled once into plain tuples and values that are already equal skip normalisation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from syncer.model import FieldSpec, ObjectKind, ValueType
from syncer.plan.model import FieldChange


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
        value = value.strip()
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


Prepared = list[tuple[str, object, bool]]
"""A valid row's managed values in API terms: (API field, value, compare case-insensitively)."""


_NO_LIMIT: Final = 1 << 62


@dataclass(frozen=True, slots=True)
class CompiledFields:
    """One kind's managed fields as tuples the hot loop unpacks without attribute lookups.

    ``prepare`` tests each value with the cheapest checks first and asks ``CHECKS`` for the
    message only when a value fails, so the reasons stay in one place.
    """

    specs: tuple[
        tuple[FieldSpec, str, str, bool, bool, int, frozenset[str] | None, Mapping[object, object]],
        ...,
    ]

    @classmethod
    def of(cls, kind: ObjectKind) -> CompiledFields:
        return cls(
            tuple(
                (
                    spec,
                    spec.column,
                    spec.api_name,
                    spec.case_insensitive,
                    spec.value_type is ValueType.TEXT,
                    spec.max_length if spec.max_length is not None else _NO_LIMIT,
                    frozenset(spec.choices) if spec.choices is not None else None,
                    spec.codec.to_api,
                )
                for spec in kind.fields
            )
        )

    def prepare(self, values: Mapping[str, object]) -> Prepared | str:
        """The row's values in API terms, or the first reason (model order) it cannot be sent."""
        prepared: Prepared = []
        for spec, column, api_name, fold, is_text, limit, choices, codec in self.specs:
            value = values.get(column)
            if value is None:
                continue
            if is_text:
                if not isinstance(value, str):
                    return _reason(spec, value)
                value = value.strip()
                if len(value) > limit or (choices is not None and value not in choices):
                    return _reason(spec, value)
            elif not isinstance(value, bool):
                return _reason(spec, value)
            if codec:
                value = codec.get(value, value)
            prepared.append((api_name, value, fold))
        return prepared


def _reason(spec: FieldSpec, value: object) -> str:
    return CHECKS[spec.value_type](spec, value) or f"{spec.column} has an unusable value"


def diff(prepared: Prepared, remote: Mapping[str, object]) -> dict[str, FieldChange]:
    """API field -> before/after for each prepared value Cloud holds differently."""
    changes: dict[str, FieldChange] = {}
    for api_name, want, fold in prepared:
        have = remote.get(api_name)
        # Equal raw values normalise equally; only differing ones need the full comparison.
        if have != want and normalise(want, fold) != normalise(have, fold):
            changes[api_name] = FieldChange(have, want)
    return changes
