"""The rules for managed field values, one module for every place that judges a value.

A ``FieldSpec`` in ``syncer.model`` says *what* a field is (type, length limit, choices, whether
the API ignores its case, its codec); this module says *how* a value is judged against it. Three
places use it, each for its own moment of a value's life:

- the door (``store.validate``): a raw value from CSV text or SQL becomes a typed desired value,
  or is refused (``desired_value``);
- the planner (``plan.values``): a typed desired value is checked once more before it may be sent
  (``CHECKS``) and compared with Cloud's (``differs``); its generated hot loop inlines the same
  tests, pinned to these functions by ``tests/test_value_rules.py``;
- adoption (``apply.operations``): a body about to be sent is compared with the object that
  already holds its key (``api_differences``).

The rules:

- Text is trimmed; blank text means ``None`` ("don't manage this field"). Length limits count
  the trimmed text.
- Booleans arrive as ``bool`` or 0/1 from SQL, or as the words in ``TRUE_WORDS``/``FALSE_WORDS``
  (any case) from CSV.
- **Choices**: the door matches a choice *ignoring case* and rewrites it to its canonical
  spelling (``staff`` is accepted and stored as ``Staff``); past the door only canonical spellings
  exist, so the planner accepts exactly the canonical spellings (``is_choice``) and refuses any
  other, which can only be a value that never went through the door. The user sees the door's
  rule: any case in, the canonical spelling out.
- Two values are equal when they normalise to the same thing: trimmed, case-folded where the API
  ignores case, ``""`` equal to ``None`` (the API does not tell an empty field from a missing
  one). Desired values are compared in API terms, after ``FieldSpec.codec``.
- **Keys**: a natural key is non-blank trimmed text of at most ``key_limit`` characters (the
  kind's own limit, else ``KEY_LENGTH``) and, for a kind whose key is an e-mail address, a valid
  one (``is_email``). The door judges every key (``check_key_text``); the planner judges keys by
  blank and length in its hot loop and in full (``key_problem``) wherever it would send a key
  Cloud does not hold yet (a create, a rename), since a key that matched Cloud's is Cloud's own.
  ``tests/test_value_rules.py`` pins the two to each other.
- Each audience keeps its wording: the door's messages name no column (its report puts the column
  beside them), the planner's are whole sentences that name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Final

from syncer.model import KEY_LENGTH, FieldSpec, ObjectKind, ValueType

TRUE_WORDS: Final = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS: Final = frozenset({"false", "f", "no", "n", "0"})


def too_long(text: str, max_length: int | None) -> bool:
    """Whether trimmed ``text`` exceeds a length limit (``None``: no limit)."""
    return max_length is not None and len(text) > max_length


@cache
def _folded(choices: tuple[str, ...]) -> dict[str, str]:
    """Case-folded choice -> its canonical spelling (``staff`` -> ``Staff``)."""
    return {choice.casefold(): choice for choice in choices}


def canonical_choice(spec: FieldSpec, text: str) -> str | None:
    """The door's rule: the canonical spelling of the choice ``text`` names in any case, or
    ``None`` when it names none."""
    assert spec.choices is not None
    return _folded(spec.choices).get(text.casefold())


def is_choice(spec: FieldSpec, text: str) -> bool:
    """The rule past the door: ``text`` is a choice in its canonical spelling."""
    return spec.choices is None or text in spec.choices


def as_text(value: object) -> str | None:
    """Trimmed text from CSV or SQL (str, int, Decimal); ``None`` for a missing or blank value."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected text, got a boolean")
    if isinstance(value, str | int | Decimal):
        text = str(value).strip()
        return text or None
    raise ValueError(f"expected text, got {type(value).__name__}")


def parse_bool(value: object) -> bool | None:
    """A boolean from SQL (bool, 0/1) or CSV text (true/false, yes/no, y/n, t/f, 1/0)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"expected true/false (or yes/no, 1/0), got {value!r}")


def check_length(text: str, max_length: int | None) -> None:
    """The door's length check (keys too): raises with the door's wording."""
    if too_long(text, max_length):
        raise ValueError(f"longer than {max_length} characters ({len(text)})")


_EMAIL: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_email(text: str) -> bool:
    """Whether trimmed ``text`` is an e-mail address (the syntax Cloud accepts for a user)."""
    return _EMAIL.fullmatch(text) is not None


def key_limit(kind: ObjectKind) -> int:
    """The most characters a natural key of ``kind`` may have."""
    return kind.key_max_length or KEY_LENGTH


def check_key_text(text: str, max_length: int, *, email: bool, forbidden: str = "") -> None:
    """The door's check of trimmed, non-blank key text: at most ``max_length`` characters
    (``key_limit``, or a category's), none of ``forbidden``, an e-mail address if ``email``;
    raises with the door's wording."""
    check_length(text, max_length)
    bad = sorted(set(forbidden) & set(text))
    if bad:
        raise ValueError(f"may not contain {' or '.join(map(repr, bad))}")
    if email and not is_email(text):
        raise ValueError(f"not a valid e-mail address: {text!r}")


def key_problem(kind: ObjectKind, key: str) -> str | None:
    """The planner's key check: why ``key`` cannot name an object of ``kind`` in Cloud, as a
    sentence naming the column, or ``None`` when it can."""
    trimmed = key.strip()
    if not trimmed:
        return f"{kind.key_column} is empty"
    limit = key_limit(kind)
    if too_long(trimmed, limit):
        return f"{kind.key_column} is {len(trimmed)} characters long; at most {limit} allowed"
    if kind.key_is_email and not is_email(trimmed):
        return f"{kind.key_column} {trimmed!r} is not a valid e-mail address"
    return None


def desired_value(spec: FieldSpec, raw: object) -> object:
    """The door: the typed desired value of a raw CSV or SQL value; raises ``ValueError`` with
    the reason (no column named) when it cannot be one."""
    if spec.value_type is ValueType.BOOL:
        return parse_bool(raw)
    text = as_text(raw)
    if text is None:
        return None
    if spec.choices is not None:
        canonical = canonical_choice(spec, text)
        if canonical is None:
            raise ValueError(f"must be one of {', '.join(spec.choices)}, got {text!r}")
        return canonical
    check_length(text, spec.max_length)
    return text


def _check_text(spec: FieldSpec, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{spec.column} must be text, got {type(value).__name__}"
    trimmed = value.strip()
    if too_long(trimmed, spec.max_length):
        return f"{spec.column} is {len(trimmed)} characters long; at most {spec.max_length} allowed"
    if not is_choice(spec, trimmed):
        return f"{spec.column} must be one of {', '.join(spec.choices or ())}, got {trimmed!r}"
    return None


def _check_bool(spec: FieldSpec, value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{spec.column} must be true or false, got {type(value).__name__}"
    return None


CHECKS: Final[dict[ValueType, Callable[[FieldSpec, object], str | None]]] = {
    ValueType.TEXT: _check_text,
    ValueType.BOOL: _check_bool,
}
"""The planner's checks: value type -> the reason a typed desired value cannot be sent, or
``None`` when it can."""


def reason(spec: FieldSpec, value: object) -> str:
    """Why ``value`` cannot be sent: the ``CHECKS`` message (the planner's generated code only
    decides *that* a value fails, so the wording lives here)."""
    return CHECKS[spec.value_type](spec, value) or f"{spec.column} has an unusable value"


def normalise(value: object, case_insensitive: bool) -> object:
    """The comparable form of a value (desired, encoded to API terms, or as the API sent it)."""
    if isinstance(value, str):
        trimmed = value.strip()
        if not trimmed:
            return None
        return trimmed.casefold() if case_insensitive else trimmed
    return value


def differs(value: object, have: object, case_insensitive: bool) -> bool:
    """Whether a desired value (in API terms) and Cloud's differ once both are normalised."""
    return normalise(value, case_insensitive) != normalise(have, case_insensitive)


def api_differences(
    fields: Iterable[FieldSpec], wanted: Mapping[str, object], have: Mapping[str, object]
) -> dict[str, object]:
    """The API fields of ``wanted`` whose value differs from ``have``'s by ``differs``, each
    compared with its spec's case rule (an API field no spec manages, such as a constant,
    compares case-sensitively)."""
    insensitive = {spec.api_name for spec in fields if spec.case_insensitive}
    return {
        name: value
        for name, value in wanted.items()
        if differs(value, have.get(name), name in insensitive)
    }
