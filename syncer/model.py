"""Resource kinds as data.

Everything syncer knows about the shape of the Caseware Cloud API lives here: which path a kind
is served at, which field is its natural key, which desired-state column feeds which API field and
how values are converted. The planner, the client, the loader and the reports are all driven by
these definitions, so when the real API turns out to differ from ``docs/cloud-api.md`` the fix is
an edit in this module rather than a rewrite elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NamedTuple

KEY_LENGTH: Final = 255
"""The longest natural key syncer stores: the width of every key column, and the limit of a key
whose kind sets none of its own (roles)."""


class Retirement(StrEnum):
    """How an object that desired state no longer lists is retired."""

    DEACTIVATE = "deactivate"
    DELETE = "delete"
    NONE = "none"


class ValueType(StrEnum):
    """The type a desired-state column holds; drives validation and normalisation."""

    TEXT = "text"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Codec:
    """Maps a desired-state value to its API spelling and back.

    Most fields are sent as they are; ``active`` is the exception (``True`` travels as ``"A"``).
    """

    to_api: Mapping[object, object] = field(default_factory=dict)

    def encode(self, value: object) -> object:
        return self.to_api.get(value, value)

    def decode(self, value: object) -> object:
        for desired, api in self.to_api.items():
            if api == value:
                return desired
        return value


PLAIN: Final = Codec()
ACTIVE_FLAG: Final = Codec({True: "A", False: "I"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One managed field: a desired-state column and the API field it is mirrored into."""

    column: str
    api_name: str
    value_type: ValueType = ValueType.TEXT
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    case_insensitive: bool = False
    codec: Codec = PLAIN


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """A kind of Cloud object with its own identity (entities, users, groups).

    ``constant_fields`` are sent on every create; ``patch_carries`` names API fields that the API
    insists on in every PATCH body (``OwnerType``), copied from the desired or the remote object.
    A ``read_only`` kind (roles) is Cloud's own list: read and matched by key, never written, and
    with no desired table of its own (``table`` is empty); it is not in ``OBJECT_KINDS``.
    """

    name: str
    table: str
    api_path: str
    key_column: str
    key_field: str
    fields: tuple[FieldSpec, ...]
    key_case_insensitive: bool = False
    key_max_length: int | None = None
    constant_fields: Mapping[str, object] = field(default_factory=dict)
    required_on_create: tuple[str, ...] = ()
    """Columns the API insists on when the object is created (but not when it is updated)."""
    patch_carries: tuple[str, ...] = ()
    retirement: Retirement = Retirement.NONE
    active_field: str | None = None
    inactive_date_field: str | None = None
    depends_on: tuple[str, ...] = ()
    read_only: bool = False
    key_is_email: bool = False
    """The natural key is an e-mail address, checked for its syntax (``value_rules``)."""

    def field_for_column(self, column: str) -> FieldSpec:
        for spec in self.fields:
            if spec.column == column:
                return spec
        raise KeyError(f"{self.name} has no managed column {column!r}")

    def normalise_key(self, raw: str) -> str:
        key = raw.strip()
        return key.casefold() if self.key_case_insensitive else key


class LinkKey(NamedTuple):
    """The two ends of an assignment by natural key (display spelling): a group and a user, or
    a user and a role. Kept apart because either may contain any character, ``|`` included;
    an assignment change is identified by it (``Change.key``), never by a text made of it."""

    parent: str
    member: str

    @property
    def text_is_ambiguous(self) -> bool:
        """Whether an end holds ``|``: the display text ``"<parent>|<member>"`` then cuts in
        more than one way, so wherever the ends are stored they must be written apart."""
        return "|" in self.parent or "|" in self.member


@dataclass(frozen=True, slots=True)
class RelationKind:
    """A many-to-many assignment (group members, users' firm-wide roles).

    Assignments are changed in batches through one PATCH on the parent object whose body names the
    members by CWGuid: ``{members_body_key: [...], "isRemove": bool}``.
    """

    name: str
    table: str
    parent_kind: str
    parent_column: str
    member_kind: str
    member_column: str
    assign_path: str
    members_body_key: str
    read_path: str | None = None
    read_field: str | None = None
    batch_size: int = 100
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildKind:
    """Objects that belong to one object of another kind, at most one per category (entities'
    addresses): read, created and updated through their parent, never deleted (no endpoint).

    The desired key is (parent key, category); a child's key as one string is
    ``"<parent key>|<category>"``. ``create_path`` answers only the new child's numeric ``Id``,
    so the created child is found again by reading the parent's children (``list_path``).
    """

    name: str
    table: str
    parent_kind: str
    parent_column: str
    category_column: str
    category_field: str
    fields: tuple[FieldSpec, ...]
    list_path: str
    create_path: str
    update_path: str
    category_max_length: int = 50
    depends_on: tuple[str, ...] = ()

    @property
    def key_columns(self) -> tuple[str, str]:
        return (self.parent_column, self.category_column)

    def key_of(self, parent: str, category: str) -> str:
        return f"{parent.strip()}|{category.strip()}"

    def split_key(self, key: str) -> tuple[str, str]:
        """(parent key, category) of a child key; categories never hold a ``|``."""
        parent, _, category = key.rpartition("|")
        return parent, category

    def normalise_key(self, key: str) -> str:
        """Parent key as its kind compares it, category case-folded."""
        parent, category = self.split_key(key)
        return (
            f"{OBJECT_KINDS[self.parent_kind].normalise_key(parent)}|{category.strip().casefold()}"
        )


ROLES_PATH: Final = "roles"

ROLES: Final = ObjectKind(
    name="roles",
    table="",
    api_path=ROLES_PATH,
    key_column="role_name",
    key_field="Name",
    fields=(),
    key_case_insensitive=True,
    read_only=True,
)
"""The firm's roles: read-only in Cloud, named case-insensitively; ``user_roles`` members."""

ENTITIES: Final = ObjectKind(
    name="entities",
    table="desired_entities",
    api_path="entities",
    key_column="entity_no",
    key_field="EntityNo",
    key_max_length=50,
    fields=(
        FieldSpec("name", "Name", max_length=200),
        FieldSpec("operating_name", "OperatingName", max_length=200),
        FieldSpec("organization_type", "OrganizationType", max_length=50),
        FieldSpec("country_code", "CountryCode", max_length=3, case_insensitive=True),
        FieldSpec("active", "Type", ValueType.BOOL, codec=ACTIVE_FLAG),
    ),
    constant_fields={"OwnerType": "Client"},
    patch_carries=("OwnerType",),
    retirement=Retirement.DEACTIVATE,
    active_field="Type",
)

USERS: Final = ObjectKind(
    name="users",
    table="desired_users",
    api_path="users",
    key_column="email",
    key_field="Email",
    key_case_insensitive=True,
    key_max_length=100,
    key_is_email=True,
    fields=(
        FieldSpec("first_name", "FirstName", max_length=30),
        FieldSpec("middle_name", "MiddleName", max_length=30),
        FieldSpec("last_name", "LastName", max_length=30),
        FieldSpec("title", "Title", max_length=50),
        FieldSpec("user_name", "UserName", max_length=50, case_insensitive=True),
        FieldSpec("owner_type", "OwnerType", choices=("Staff", "Contact")),
        FieldSpec("admin", "Admin", ValueType.BOOL),
        FieldSpec("sso", "IsSingleSignOnUser", ValueType.BOOL),
        FieldSpec("can_login", "CanLogin", ValueType.BOOL),
        FieldSpec("active", "Type", ValueType.BOOL, codec=ACTIVE_FLAG),
    ),
    required_on_create=("owner_type",),
    patch_carries=("OwnerType",),
    retirement=Retirement.DEACTIVATE,
    active_field="Type",
    inactive_date_field="InActiveDate",
)

GROUPS: Final = ObjectKind(
    name="groups",
    table="desired_groups",
    api_path="groups",
    key_column="name",
    key_field="Name",
    key_case_insensitive=True,
    key_max_length=100,
    fields=(FieldSpec("description", "BriefDescription", max_length=500),),
    retirement=Retirement.DELETE,
)

GROUP_MEMBERS: Final = RelationKind(
    name="group_members",
    table="desired_group_members",
    parent_kind="groups",
    parent_column="group_name",
    member_kind="users",
    member_column="user_email",
    assign_path="groups/{id}/user-assignments",
    members_body_key="people",
    read_path="groups/{id}/user-assignments",
    depends_on=("groups", "users"),
)

USER_ROLES: Final = RelationKind(
    name="user_roles",
    table="desired_user_roles",
    parent_kind="users",
    parent_column="user_email",
    member_kind=ROLES.name,
    member_column="role_name",
    assign_path="users/{id}/role-assignments",
    members_body_key="roleIds",
    read_field="FirmWideRoleIds",
    depends_on=("users",),
)

ENTITY_ADDRESSES: Final = ChildKind(
    name="entity_addresses",
    table="desired_entity_addresses",
    parent_kind="entities",
    parent_column="entity_no",
    category_column="category",
    category_field="AddressCategory",
    fields=(
        FieldSpec("name", "Name", max_length=100),
        FieldSpec("address1", "Address1", max_length=100),
        FieldSpec("address2", "Address2", max_length=100),
        FieldSpec("address3", "Address3", max_length=100),
        FieldSpec("city", "City", max_length=100),
        FieldSpec("country", "Country", max_length=100),
    ),
    list_path="entities/{id}/addresses",
    create_path="entities/{id}/addresses",
    update_path="entities/addresses/{id}",
    depends_on=("entities",),
)

OBJECT_KINDS: Final[Mapping[str, ObjectKind]] = {k.name: k for k in (GROUPS, ENTITIES, USERS)}
RELATION_KINDS: Final[Mapping[str, RelationKind]] = {k.name: k for k in (GROUP_MEMBERS, USER_ROLES)}
CHILD_KINDS: Final[Mapping[str, ChildKind]] = {k.name: k for k in (ENTITY_ADDRESSES,)}
ALL_KINDS: Final[tuple[str, ...]] = (*OBJECT_KINDS, *RELATION_KINDS, *CHILD_KINDS)
"""Every kind in dependency order: objects first, then the assignments between them, then the
objects' children."""

Kind = ObjectKind | RelationKind | ChildKind


def kind_named(name: str) -> Kind:
    """Look a kind up by name, with an error that lists the valid names."""
    found = OBJECT_KINDS.get(name) or RELATION_KINDS.get(name) or CHILD_KINDS.get(name)
    if found is None:
        raise KeyError(f"unknown kind {name!r}; expected one of {', '.join(ALL_KINDS)}")
    return found


def normalise_key(kind: str, key: str) -> str:
    """The comparable spelling of ``key`` for ``kind`` (trimmed; case-folded where Cloud ignores
    case), for object kinds, child kinds (parent key by its kind's rule, category case-folded)
    and read-only ``ROLES`` alike; any other name is only trimmed. The one rule: the planner's
    fast inline copies are pinned to it by ``tests/plan/test_normalise_key.py``."""
    found: ObjectKind | ChildKind | None = (
        OBJECT_KINDS.get(kind) or CHILD_KINDS.get(kind) or (ROLES if kind == ROLES.name else None)
    )
    return found.normalise_key(key) if found is not None else key.strip()
