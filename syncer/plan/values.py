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


NO_LIMIT: Final = 1 << 62
"""A length limit no text reaches: lets the hot loops compare lengths without a None test."""


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
                    spec.max_length if spec.max_length is not None else NO_LIMIT,
                    frozenset(spec.choices) if spec.choices is not None else None,
                    spec.codec.to_api,
                )
                for spec in kind.fields
            )
        )

    def changes(
        self, values: Mapping[str, object], remote: Mapping[str, object]
    ) -> dict[str, FieldChange] | str:
        """Managed fields the row sets that ``remote`` holds differently (API name -> before/
        after, in API terms), or the first reason (model order) the row cannot be sent.

        One pass validates and compares, because this runs for every desired row; a create
        passes an empty ``remote``, so every value the row sets becomes a change from None.
        """
        changes: dict[str, FieldChange] = {}
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
            have = remote.get(api_name)
            # Equal raw values normalise equally; only differing ones need the full comparison.
            if have == value:
                continue
            # Texts differing only in case (every entity's country code in a migration) are
            # settled here without two ``normalise`` calls: equal trimmed, folded texts
            # normalise equally (both blank ones to None).
            if (
                fold
                and type(value) is str
                and type(have) is str
                and value.strip().casefold() == have.strip().casefold()
            ):
                continue
            if normalise(value, fold) != normalise(have, fold):
                changes[api_name] = FieldChange(have, value)
        return changes


def _reason(spec: FieldSpec, value: object) -> str:
    return CHECKS[spec.value_type](spec, value) or f"{spec.column} has an unusable value"
