"""A small firm for probing: enough objects of each kind for every check to tell, and a desired
state whose plan touches every kind (create, update, adopt, add members, assign roles).

Seeding goes through the simulator's control handle, so it costs no request and leaves the
stats (and so the "no write" assertions) untouched.
"""

from __future__ import annotations

from typing import Any

from syncer.simulator import RunningSimulator
from tests.apply.support import entity, objects, user

ENTITIES = 110
"""More than one page of 100: enough to see a page cap, a clamp and the default page size."""
USERS = 30
QUOTED_NAME = "O'Brien & Sons"


def _name(n: int) -> str:
    return QUOTED_NAME if n == 7 else f"Client {n}"


DESIRED: dict[str, list[dict[str, object]]] = {
    "entities": [
        *(entity(n, name=_name(n)) for n in range(1, ENTITIES + 1) if n != 5),
        entity(5, name="Client 5 Ltd"),
        entity(111),
        entity(112),
    ],
    "users": [user(n) for n in range(1, USERS + 2)],
    "groups": [
        {"name": "Audit", "description": "Audit and assurance"},
        {"name": "Tax", "description": "Tax"},
        {"name": "Advisory", "description": "Advisory services"},
    ],
    "group_members": [
        *({"group_name": "Audit", "user_email": f"user{n}@example.com"} for n in range(1, 5)),
        {"group_name": "Advisory", "user_email": "user5@example.com"},
    ],
    "user_roles": [
        {"user_email": "user1@example.com", "role_name": "Admin"},
        {"user_email": f"user{USERS + 1}@example.com", "role_name": "Viewer"},
    ],
}
"""A renamed client, two new clients, one new user, a changed and a new group description, a new
group, four member additions and two role assignments: every kind has work, all of it checkable."""


def seed_firm(sim: RunningSimulator) -> None:
    """The firm as it is before syncer: clients, staff with roles, two groups with members."""
    control = sim.control
    for n in range(1, ENTITIES + 1):
        control.seed("entities", {"EntityNo": f"C-{n:04d}", "Name": _name(n)})
    users = [
        control.seed(
            "users",
            {
                "Email": f"user{n}@example.com",
                "FirstName": f"First{n}",
                "LastName": f"Last{n}",
                "OwnerType": "Staff",
                "FirmWideRoleIds": [1] if n == 1 else [],
            },
        )
        for n in range(1, USERS + 1)
    ]
    audit = control.seed("groups", {"Name": "Audit", "BriefDescription": "Audit team"})
    control.seed("groups", {"Name": "Tax", "BriefDescription": "Tax"})
    members = [u["CWGuid"] for u in users[:3]]
    control.seed("group_members", {"parent": audit["CWGuid"], "members": members})


def assert_firm_matches_desired(sim: RunningSimulator) -> None:
    """The simulator's own state (documented field names) holds what ``DESIRED`` asks for."""
    entities = {e["EntityNo"]: e for e in objects(sim, "entities")}
    assert len(entities) == ENTITIES + 2
    assert entities["C-0007"]["Name"] == QUOTED_NAME
    assert entities["C-0005"]["Name"] == "Client 5 Ltd"
    users = {u["Email"]: u for u in objects(sim, "users")}
    assert len(users) == USERS + 1
    roles = {r["Name"]: r["Id"] for r in objects(sim, "roles")}
    assert users["user1@example.com"]["FirmWideRoleIds"] == [roles["Admin"]]
    assert users[f"user{USERS + 1}@example.com"]["FirmWideRoleIds"] == [roles["Viewer"]]
    groups = {g["Name"]: g for g in objects(sim, "groups")}
    descriptions = {name: g["BriefDescription"] for name, g in groups.items()}
    assert descriptions == {
        "Audit": "Audit and assurance",
        "Tax": "Tax",
        "Advisory": "Advisory services",
    }
    members = members_by_group(sim)
    email_of = {u["CWGuid"]: email for email, u in users.items()}
    audit = sorted(email_of[m] for m in members[groups["Audit"]["CWGuid"]])
    assert audit == [f"user{n}@example.com" for n in range(1, 5)]
    assert [email_of[m] for m in members[groups["Advisory"]["CWGuid"]]] == ["user5@example.com"]


def members_by_group(sim: RunningSimulator) -> dict[str, list[str]]:
    found: dict[str, list[str]] = sim.control.dump()["objects"]["group_members"]
    return found


def checks_by_id(report_json: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {check["id"]: check for check in report_json["checks"]}
