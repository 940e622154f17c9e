"""The resource kinds the simulator serves, as data: fields, types, limits, natural keys.

One table of ``FieldRule`` per kind drives request binding and validation, search, seeding and the
OpenAPI schemas, so the simulator's idea of a field exists in exactly one place. Request field
names bind case-insensitively; stored objects and responses use the PascalCase names below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final


class FieldType(StrEnum):
    STRING = "string"
    INT = "integer"
    BOOL = "boolean"
    DATE = "date"
    INT_LIST = "integer-list"


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    type: FieldType = FieldType.STRING
    max_length: int | None = None
    required: bool = False
    """Must be present and non-empty on create."""
    required_on_patch: bool = False
    choices: tuple[str, ...] | None = None
    read_only: bool = False
    default: object = None


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    name: str
    family: str
    """The route family (first path segment): the unit of per-route rate limiting."""
    fields: tuple[FieldRule, ...]
    key_field: str | None = None
    """The natural key: unique, compared case-insensitively when ``key_case_insensitive``."""
    key_case_insensitive: bool = False
    _by_lower: Mapping[str, FieldRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {r.name.lower(): r for r in self.fields})

    def rule(self, name: str) -> FieldRule | None:
        return self._by_lower.get(name.lower())

    def searchable(self, name: str) -> FieldRule | None:
        """Top-level scalar fields only: lists cannot be searched."""
        rule = self.rule(name)
        return None if rule is None or rule.type is FieldType.INT_LIST else rule

    def natural_key(self, obj: Mapping[str, Any]) -> str | None:
        if self.key_field is None:
            return None
        value = obj.get(self.key_field)
        if not isinstance(value, str):
            return None
        return value.casefold() if self.key_case_insensitive else value

    def defaults(self) -> dict[str, Any]:
        return {
            r.name: list(r.default) if isinstance(r.default, tuple) else r.default
            for r in self.fields
            if not r.read_only or r.default is not None
        }


_ID = FieldRule("Id", FieldType.INT, read_only=True)
_GUID = FieldRule("CWGuid", read_only=True)
_ACTIVE = FieldRule("Type", choices=("A", "I"), default="A")
_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+$")

ENTITIES: Final = ResourceSpec(
    "entities",
    "entities",
    (
        _ID,
        _GUID,
        FieldRule("EntityNo", max_length=50, required=True),
        FieldRule("Name", max_length=200, required=True),
        FieldRule("OperatingName", max_length=200),
        FieldRule("OwnerType", choices=("Client",), default="Client", required_on_patch=True),
        _ACTIVE,
        FieldRule("CountryCode", max_length=3),
        FieldRule("OrganizationType", max_length=50),
    ),
    key_field="EntityNo",
)

ADDRESSES: Final = ResourceSpec(
    "addresses",
    "entities",
    (
        _ID,
        _GUID,
        FieldRule("Name", max_length=100),
        FieldRule("Address1", max_length=100),
        FieldRule("Address2", max_length=100),
        FieldRule("Address3", max_length=100),
        FieldRule("City", max_length=100),
        FieldRule("Country", max_length=100),
        FieldRule(
            "AddressCategory", choices=("Business", "Mailing", "Home", "Other"), default="Business"
        ),
        FieldRule("OwnerCWGuid", read_only=True),
        FieldRule("OwnerId", FieldType.INT, read_only=True),
    ),
)

USERS: Final = ResourceSpec(
    "users",
    "users",
    (
        _ID,
        _GUID,
        FieldRule("FirstName", max_length=30),
        FieldRule("MiddleName", max_length=30),
        FieldRule("LastName", max_length=30),
        FieldRule("Title", max_length=50),
        FieldRule("Email", max_length=100, required=True),
        FieldRule("UserName", max_length=50),
        FieldRule(
            "OwnerType",
            choices=("Staff", "Contact", "Plugin", "Internal", "ApiClient"),
            required=True,
            required_on_patch=True,
        ),
        FieldRule("Admin", FieldType.BOOL, default=False),
        FieldRule("IsSingleSignOnUser", FieldType.BOOL, default=False),
        _ACTIVE,
        FieldRule("InActiveDate", FieldType.DATE),
        FieldRule("CanLogin", FieldType.BOOL, default=True),
        FieldRule("FirmWideRoleIds", FieldType.INT_LIST, read_only=True, default=()),
    ),
    key_field="Email",
    key_case_insensitive=True,
)

ROLES: Final = ResourceSpec(
    "roles",
    "roles",
    (
        _ID,
        _GUID,
        FieldRule("Name", max_length=100, required=True),
        FieldRule("Description", max_length=500),
    ),
    key_field="Name",
    key_case_insensitive=True,
)

GROUPS: Final = ResourceSpec(
    "groups",
    "groups",
    (
        _ID,
        _GUID,
        FieldRule("Name", max_length=100, required=True),
        FieldRule("BriefDescription", max_length=500),
    ),
    key_field="Name",
    key_case_insensitive=True,
)

SPECS: Final[Mapping[str, ResourceSpec]] = {
    s.name: s for s in (ENTITIES, ADDRESSES, USERS, ROLES, GROUPS)
}

BUILT_IN_ROLES: Final = (
    ("Admin", "Full control of the firm"),
    ("Settings Admin", "Manages firm settings"),
    ("Staff Admin", "Manages staff"),
    ("Entities Admin", "Manages all entities"),
    ("Entity Access", "Access to assigned entities"),
    ("Viewer", "Reads content"),
    ("Editor", "Edits content"),
    ("Owner", "Owns content"),
)


def bind(
    spec: ResourceSpec, body: object, *, creating: bool, seeding: bool = False
) -> tuple[dict[str, Any], list[Violation]]:
    """Bind a request body to ``spec``'s fields: canonical names, types, lengths, required fields.

    Unknown and read-only fields are ignored, as an ASP.NET model binder does; ``seeding`` lets the
    control plane set read-only relations such as ``FirmWideRoleIds``.
    """
    if not isinstance(body, dict):
        return {}, [Violation("", "the body must be a JSON object")]
    values: dict[str, Any] = {}
    errors: list[Violation] = []
    for raw_name, value in body.items():
        rule = spec.rule(str(raw_name))
        if rule is None or rule.name in ("Id", "CWGuid") or (rule.read_only and not seeding):
            continue
        problem = _check(rule, value)
        if problem:
            errors.append(Violation(rule.name, problem))
        else:
            values[rule.name] = _canonical(rule, value)
    for rule in spec.fields:
        needed = rule.required if creating else rule.required_on_patch
        if needed and values.get(rule.name) in (None, "") and not _has_error(errors, rule.name):
            errors.append(Violation(rule.name, f"{rule.name} is required"))
    return values, errors


def _has_error(errors: list[Violation], name: str) -> bool:
    return any(e.field == name for e in errors)


def _check(rule: FieldRule, value: object) -> str | None:
    if value is None:
        return None
    match rule.type:
        case FieldType.BOOL if not isinstance(value, bool):
            return f"{rule.name} must be true or false"
        case FieldType.INT if isinstance(value, bool) or not isinstance(value, int):
            return f"{rule.name} must be an integer"
        case FieldType.INT_LIST if not (
            isinstance(value, list) and all(isinstance(v, int) for v in value)
        ):
            return f"{rule.name} must be a list of integers"
        case FieldType.DATE if not (isinstance(value, str) and _DATE_RE.match(value)):
            return f"{rule.name} must be a date yyyy-mm-dd"
        case FieldType.STRING:
            return _check_string(rule, value)
    return None


def _check_string(rule: FieldRule, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{rule.name} must be a string"
    if rule.max_length is not None and len(value) > rule.max_length:
        return f"{rule.name} must be at most {rule.max_length} characters"
    if rule.choices is not None and value.casefold() not in {c.casefold() for c in rule.choices}:
        return f"{rule.name} must be one of {', '.join(rule.choices)}"
    if rule.name == "Email" and value and not _EMAIL_RE.match(value):
        return "Email is not a valid e-mail address"
    return None


def _canonical(rule: FieldRule, value: object) -> object:
    """Choices come back in their canonical spelling (``staff`` is stored as ``Staff``)."""
    if rule.choices is not None and isinstance(value, str):
        return next(c for c in rule.choices if c.casefold() == value.casefold())
    return value
