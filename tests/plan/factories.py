"""Small builders for hand-written planner cases: one line per object."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from syncer.model import OBJECT_KINDS
from syncer.plan import Plan, PlanPolicy, build_plan
from syncer.state import (
    CloudState,
    DesiredLink,
    DesiredRow,
    DesiredState,
    InvalidRow,
    Origin,
    Ownership,
    RemoteObject,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TODAY = "2026-03-01"
ALL = frozenset({"groups", "entities", "users", "group_members", "user_roles"})


def entity(no: str, name: str = "Acme", active: str = "A", guid: str | None = None) -> RemoteObject:
    return RemoteObject(
        guid or f"E-{no}",
        None,
        {"EntityNo": no, "Name": name, "Type": active, "OwnerType": "Client"},
    )


def user(email: str, active: str = "A", guid: str | None = None, **fields: object) -> RemoteObject:
    return RemoteObject(
        guid or f"U-{email}",
        None,
        {"Email": email, "OwnerType": "Staff", "Type": active, "InActiveDate": None, **fields},
    )


def group(name: str, guid: str | None = None, description: str | None = None) -> RemoteObject:
    return RemoteObject(guid or f"G-{name}", None, {"Name": name, "BriefDescription": description})


def row(key: str, line: int | None = None, **values: object) -> DesiredRow:
    return DesiredRow(key, values, line)


def owns(*objects: tuple[str, RemoteObject]) -> dict[tuple[str, str], Ownership]:
    """Id-map entries for (kind, object) pairs, keyed as the planner expects."""
    owned = {}
    for kind_name, obj in objects:
        kind = OBJECT_KINDS[kind_name]
        key = kind.normalise_key(str(obj.fields[kind.key_field]))
        owned[(kind_name, key)] = Ownership(kind_name, key, obj.cwguid, obj.id, Origin.ADOPTED)
    return owned


def desired(
    *,
    entities: Iterable[DesiredRow] = (),
    users: Iterable[DesiredRow] = (),
    groups: Iterable[DesiredRow] = (),
    group_members: Iterable[tuple[str, str]] = (),
    user_roles: Iterable[tuple[str, str]] = (),
    invalid: Iterable[InvalidRow] = (),
    complete: frozenset[str] = ALL,
) -> DesiredState:
    return DesiredState(
        objects={"entities": tuple(entities), "users": tuple(users), "groups": tuple(groups)},
        links={
            "group_members": tuple(DesiredLink(p, m, i) for i, (p, m) in enumerate(group_members)),
            "user_roles": tuple(DesiredLink(p, m, i) for i, (p, m) in enumerate(user_roles)),
        },
        invalid=tuple(invalid),
        complete=complete,
    )


def cloud(
    *,
    entities: Iterable[RemoteObject] = (),
    users: Iterable[RemoteObject] = (),
    groups: Iterable[RemoteObject] = (),
    group_members: Iterable[tuple[str, str]] = (),
    user_roles: Iterable[tuple[str, str]] = (),
    roles: Iterable[RemoteObject] = (),
) -> CloudState:
    return CloudState(
        objects={"entities": tuple(entities), "users": tuple(users), "groups": tuple(groups)},
        links={"group_members": frozenset(group_members), "user_roles": frozenset(user_roles)},
        roles=tuple(roles),
    )


def plan(
    want: DesiredState,
    have: CloudState,
    owned: dict[tuple[str, str], Ownership] | None = None,
    policy: PlanPolicy | None = None,
) -> Plan:
    return build_plan(want, have, owned or {}, policy or PlanPolicy(), firm="acme", now=NOW)
