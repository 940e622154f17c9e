"""What the API promises a response looks like, checked before any of it is used.

A body of the wrong shape (an HTML page with status 200, an object where a list belongs, a null
``CWGuid``) must never flow on: a null GUID once became the string ``"None"`` inside a URL. The
promises are data, one ``FieldRule`` per field, so adding a field is a line here and not another
``isinstance`` scattered through the client. Breaking a promise raises ``CloudContractBroken``
(exit 76) naming the endpoint and what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from syncer.errors import CloudContractBroken

_GUID: Final = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def field_of(obj: Mapping[str, Any], name: str) -> Any:
    """A field by name, tolerating a different letter case in the response."""
    if name in obj:
        return obj[name]
    folded = name.casefold()
    return next((v for k, v in obj.items() if k.casefold() == folded), None)


def is_guid(value: object) -> bool:
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_reference_list(value: object) -> bool:
    """Role references: all numeric ``Id``s or all ``CWGuid``s (``cloud.api.user_roles_reference``
    says which the firm uses; the reader matches them)."""
    if not isinstance(value, list):
        return False
    return all(_is_int(item) for item in value) or all(is_guid(item) for item in value)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One promised field: how to check it, how to say what was expected, whether it may be
    absent (``null`` counts as absent for an optional field)."""

    name: str
    check: Callable[[object], bool]
    expected: str
    required: bool = True


OBJECT_RULES: Final = (
    FieldRule("CWGuid", is_guid, "a GUID"),
    FieldRule("Id", _is_int, "an integer", required=False),
)
"""Every object the API returns (entities, users, groups, roles)."""

RULES_BY_PATH: Final[Mapping[str, tuple[FieldRule, ...]]] = {
    "users": (
        FieldRule(
            "FirmWideRoleIds", _is_reference_list, "a list of role Ids or CWGuids", required=False
        ),
    ),
}
"""Extra promises of the objects under one list path (``users``, ``groups``...)."""

CHILD_RULES: Final[Mapping[str, tuple[FieldRule, ...]]] = {
    "entity_addresses": (
        FieldRule("AddressCategory", lambda value: isinstance(value, str), "a string", False),
    ),
}
"""Extra promises of the children of one child kind (by the kind's name), beyond an object's
(``OBJECT_RULES``, checked as for any object)."""

TOKEN_RULES: Final = (FieldRule("Token", _is_text, "a non-empty string"),)


def broken(where: str, what: str) -> CloudContractBroken:
    return CloudContractBroken(
        f"Cloud answered something the API does not promise: {where}: {what}"
    )


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def checked_object(
    where: str, value: object, rules: tuple[FieldRule, ...] = OBJECT_RULES
) -> Mapping[str, Any]:
    """``value`` as a JSON object keeping every rule; ``CloudContractBroken`` otherwise."""
    if not isinstance(value, Mapping):
        raise broken(where, f"expected a JSON object, got {_describe(value)}")
    for rule in rules:
        found = field_of(value, rule.name)
        if found is None and not rule.required:
            continue
        if not rule.check(found):
            raise broken(where, f"{rule.name} is {_describe(found)}, expected {rule.expected}")
    return value


def object_rules(path: str) -> tuple[FieldRule, ...]:
    """The rules of an object read or written under ``path`` (``users/<guid>`` -> users')."""
    return OBJECT_RULES + RULES_BY_PATH.get(path.split("/", 1)[0], ())


def checked_list(where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise broken(where, f"expected a JSON array, got {_describe(value)}")
    return value


def checked_guid(where: str, value: object) -> str:
    """A member of a member list: a GUID."""
    if not is_guid(value):
        raise broken(where, f"a member is {_describe(value)}, expected a GUID")
    assert isinstance(value, str)
    return value
