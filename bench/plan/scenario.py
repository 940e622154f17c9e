"""A synthetic firm of any size: the shape a big client migration has.

70 % of desired rows are entities, 25 % users, 5 % group memberships. Cloud already holds 95 % of
the objects (so 5 % are creates), 10 % of those differ in one field (updates), and syncer owns
every Cloud object plus 1 % that desired no longer lists (deactivations, under the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.plan.policy import PlanPolicy
from syncer.settings import SyncMode
from syncer.state import (
    CloudState,
    DesiredLink,
    DesiredRow,
    DesiredState,
    IdMap,
    Origin,
    Ownership,
    RemoteObject,
)

GROUPS = 50
MIRROR = PlanPolicy(
    modes=dict.fromkeys(["entities", "users", "groups", "group_members"], SyncMode.MIRROR)
)
COMPLETE = frozenset({"entities", "users", "groups", "group_members", "user_roles"})


@dataclass(frozen=True, slots=True)
class Scenario:
    desired: DesiredState
    cloud: CloudState
    owned: IdMap
    """As the store reads it (``read_id_map``): filed by kind."""
    rows: int


def build(rows: int) -> Scenario:
    entities = rows * 70 // 100
    users = rows * 25 // 100
    links = rows - entities - users
    owned: dict[tuple[str, str], Ownership] = {}
    desired_entities = tuple(
        DesiredRow(
            f"C-{i:07}",
            {
                "name": f"Client {i}",
                "country_code": "CA",
                "organization_type": "Corp",
                "active": True,
            },
            i,
        )
        for i in range(entities)
    )
    remote_entities = [
        RemoteObject(
            f"E-{i:07}",
            i,
            {
                "EntityNo": f"C-{i:07}",
                "Name": f"Client {i}" if i % 10 else f"Old name {i}",
                "CountryCode": "ca",
                "OrganizationType": "Corp",
                "OwnerType": "Client",
                "Type": "A",
            },
        )
        for i in range(entities * 101 // 100)
        if i % 20 != 7
    ]
    desired_users = tuple(
        DesiredRow(
            f"User{i}@Firm.com",
            {"first_name": "Ann", "last_name": f"L{i}", "owner_type": "Staff", "active": True},
            i,
        )
        for i in range(users)
    )
    remote_users = [
        RemoteObject(
            f"U-{i:07}",
            i,
            {
                "Email": f"user{i}@firm.com",
                "FirstName": "Ann",
                "LastName": f"L{i}" if i % 10 else "Other",
                "OwnerType": "Staff",
                "Type": "A",
            },
        )
        for i in range(users)
        if i % 20 != 7
    ]
    groups = [RemoteObject(f"G-{g}", g, {"Name": f"Group {g}"}) for g in range(GROUPS)]
    desired_groups = tuple(DesiredRow(f"Group {g}", {}, g) for g in range(GROUPS))
    desired_links = tuple(
        DesiredLink(f"Group {i % GROUPS}", f"user{i}@firm.com", i) for i in range(links)
    )
    remote_links = frozenset(
        (f"G-{i % GROUPS}", f"U-{i:07}") for i in range(links) if i % 20 not in (7, 8)
    )
    for kind, objects, key_field in (
        ("entities", remote_entities, "EntityNo"),
        ("users", remote_users, "Email"),
        ("groups", groups, "Name"),
    ):
        for obj in objects:
            raw = str(obj.fields[key_field])
            key = raw.casefold() if kind != "entities" else raw
            owned[(kind, key)] = Ownership(kind, key, obj.cwguid, obj.id, Origin.ADOPTED)
    desired = DesiredState(
        objects={"entities": desired_entities, "users": desired_users, "groups": desired_groups},
        links={"group_members": desired_links},
        complete=COMPLETE,
    )
    cloud = CloudState(
        objects={
            "entities": tuple(remote_entities),
            "users": tuple(remote_users),
            "groups": tuple(groups),
        },
        links={"group_members": remote_links},
    )
    return Scenario(desired, cloud, IdMap(owned.items()), rows)
