"""A believable firm, generated: the desired state and the Cloud's prior contents for the demo.

The demo must look like a real accounting practice, not ``entity-1..n``: clients with trading
names and client numbers, staff with names, titles and emails at the firm's domain, service-line
and office groups, memberships and firm-wide roles. Everything comes from one seeded
``random.Random``, so the same size and seed always give the same firm (tests and screenshots
stay stable).

``seed_objects`` are objects that already exist in Cloud before syncer's first run (someone
created them by hand years ago): some match a desired row exactly (adopted, no change), some are
outdated (adopted, then updated), and a few are unrelated to desired state (left alone). So the
first plan shows adoptions and updates, not only creates.

Rows are plain mappings named like the ``desired_*`` columns; ``syncer.demo.store`` writes them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from syncer.demo.addresses import client_addresses, move_one
from syncer.model import OBJECT_KINDS, ObjectKind

Row = Mapping[str, object]
Rows = Mapping[str, tuple[Row, ...]]
"""Kind name (``entities``, ``users``, ``groups``, ``group_members``, ``user_roles``,
``entity_addresses``) -> rows."""


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True, slots=True)
class SizeSpec:
    clients: int
    staff: int
    contacts: int


SIZES: Final[Mapping[Size, SizeSpec]] = {
    Size.SMALL: SizeSpec(clients=300, staff=24, contacts=6),
    Size.MEDIUM: SizeSpec(clients=2_000, staff=120, contacts=30),
    Size.LARGE: SizeSpec(clients=10_000, staff=400, contacts=100),
}

DEFAULT_SEED: Final = 42
FIRM_DOMAIN: Final = "brightwater-cpa.example"

_PLACES = (
    "Harbourview", "Maple Ridge", "Northgate", "Silver Birch", "Riverside", "Cedar Point",
    "Bluewater", "Oakhurst", "Pinecrest", "Lakeshore", "Stonebridge", "Westbrook", "Kingsway",
    "Fairhaven", "Elmwood", "Granite Peak", "Willow Creek", "Eastside", "Summit", "Greenfield",
    "Ironwood", "Copperleaf", "Redstone", "Brightwater", "Highland", "Meadowvale", "Seaside",
    "Foxglove", "Sterling", "Bayfront", "Thornbury", "Ashford", "Juniper", "Moraine", "Clearview",
)  # fmt: skip
_TRADES = (
    "Dental", "Plumbing", "Bakery", "Logistics", "Consulting", "Veterinary Clinic", "Motors",
    "Landscaping", "Physiotherapy", "Roofing", "Brewing", "Software", "Construction", "Optometry",
    "Catering", "Electrical", "Printing", "Property Management", "Pharmacy", "Architecture",
    "Fitness", "Realty", "Florists", "Engineering", "Marine Supply", "Law Office", "Hardware",
    "Childcare", "Auto Body", "Coffee Roasters", "Dairy", "Orchards", "Media", "Translation",
)  # fmt: skip
_FORMS = (
    ("Ltd", "Corporation"),
    ("Inc.", "Corporation"),
    ("Holdings Ltd", "Corporation"),
    ("LLP", "Partnership"),
    ("& Partners", "Partnership"),
    ("Co-operative", "Co-operative"),
    ("Foundation", "Non-Profit"),
    ("Family Trust", "Trust"),
)
_COUNTRIES = ("CA",) * 14 + ("US",) * 4 + ("GB", "AU", "IE")
_FIRST = (
    "Olivia", "Liam", "Priya", "Noah", "Amelia", "Mateo", "Chloe", "Ethan", "Aisha", "Lucas",
    "Hannah", "Owen", "Mei", "Gabriel", "Sofia", "Daniel", "Fatima", "Samuel", "Grace", "Arjun",
    "Emily", "Jacob", "Nadia", "Benjamin", "Zoe", "Hiroshi", "Isabelle", "Omar", "Claire", "Ravi",
    "Leah", "Marcus", "Ingrid", "Tomas", "Yasmin", "Connor", "Elena", "Kwame", "Maya", "Patrick",
)  # fmt: skip
_MIDDLE = ("", "", "", "J.", "Anne", "Marie", "Lee", "R.", "Grace", "Kai")
_LAST = (
    "MacDonald", "Tremblay", "Singh", "Chen", "Wilson", "Roy", "Nguyen", "Campbell", "Gagnon",
    "Patel", "Anderson", "Kim", "O'Brien", "Fraser", "Leblanc", "Thompson", "Martin", "Bouchard",
    "Ahmed", "Morrison", "Kowalski", "Murphy", "Sato", "Stewart", "Gill", "Lindqvist", "Okafor",
    "Ross", "Bergeron", "Hughes", "Dubois", "Walsh", "Haddad", "Novak", "Reid", "Fernandes",
)  # fmt: skip
_SERVICE_LINES = {
    "Audit": "Assurance engagements: audits and reviews",
    "Tax": "Corporate and personal tax compliance and planning",
    "Advisory": "Transactions, valuations and business advisory",
    "Bookkeeping": "Monthly bookkeeping and payroll for small clients",
}
_OFFICES = {
    "Toronto Office": "Head office, 100 King St W",
    "Vancouver Office": "West coast office, 999 Canada Place",
    "Halifax Office": "Atlantic office, 1801 Hollis St",
}
PARTNERS_GROUP: Final = "Partners"
_TITLES_BY_RANK = (
    (0.12, "Partner", ("Owner", "Entities Admin", "Editor")),
    (0.22, "Senior Manager", ("Entities Admin", "Editor")),
    (0.42, "Manager", ("Entity Access", "Editor")),
    (0.65, "Senior Accountant", ("Entity Access", "Editor")),
    (1.00, "Staff Accountant", ("Entity Access", "Viewer")),
)
"""A pyramid: (cumulative share of staff, title, firm-wide roles)."""
_OFFICE_ADMIN = ("Office Administrator", ("Staff Admin", "Settings Admin", "Viewer"))
_MANAGING_PARTNER_ROLES = ("Admin", "Owner", "Entities Admin", "Editor")


@dataclass(frozen=True, slots=True)
class DemoData:
    """The desired state and the Cloud's prior contents (API field names) of one demo firm."""

    rows: Rows
    seed_objects: Rows
    domain: str = FIRM_DOMAIN

    def count(self, kind: str) -> int:
        return len(self.rows.get(kind, ()))


def generate(size: Size = Size.SMALL, seed: int = DEFAULT_SEED) -> DemoData:
    """The demo firm of ``size``; the same arguments always give the same firm."""
    rng = random.Random(seed)
    spec = SIZES[size]
    entities = tuple(_client(rng, number) for number in range(1, spec.clients + 1))
    staff = _people(rng, spec.staff)
    users = tuple(
        _staff_user(rng, person, _rank(index, len(staff))[0]) for index, person in enumerate(staff)
    )
    contacts = tuple(_contact(rng, person, entities) for person in _people(rng, spec.contacts))
    groups = tuple(
        {"name": name, "description": text}
        for name, text in {
            **_SERVICE_LINES,
            **_OFFICES,
            PARTNERS_GROUP: "Partners of the firm",
        }.items()
    )
    members, roles = _memberships_and_roles(rng, users)
    rows: Rows = {
        "groups": groups,
        "entities": entities,
        "users": users + contacts,
        "group_members": members,
        "user_roles": roles
        + tuple({"user_email": c["email"], "role_name": "Viewer"} for c in contacts),
        "entity_addresses": client_addresses(entities, seed),
    }
    return DemoData(rows=rows, seed_objects=_prior_cloud(rng, rows))


def _client(rng: random.Random, number: int) -> Row:
    place, trade = rng.choice(_PLACES), rng.choice(_TRADES)
    suffix, organisation_type = rng.choice(_FORMS)
    name = f"{place} {trade} {suffix}"
    return {
        "entity_no": f"C-{number:05d}",
        "name": name,
        "operating_name": f"{place} {trade}" if rng.random() < 0.6 else None,
        "organization_type": organisation_type,
        "country_code": rng.choice(_COUNTRIES),
        "active": rng.random() > 0.03,
    }


def _people(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """``count`` distinct (first, middle, last) names."""
    seen: set[tuple[str, str]] = set()
    people: list[tuple[str, str, str]] = []
    while len(people) < count:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        if (first, last) not in seen:
            seen.add((first, last))
            people.append((first, rng.choice(_MIDDLE), last))
    return people


def _handle(first: str, last: str) -> str:
    return f"{first}.{last}".lower().replace("'", "").replace(" ", "")


def _staff_user(rng: random.Random, person: tuple[str, str, str], title: str) -> Row:
    first, middle, last = person
    handle = _handle(first, last)
    return {
        "email": f"{handle}@{FIRM_DOMAIN}",
        "first_name": first,
        "middle_name": middle or None,
        "last_name": last,
        "title": title,
        "user_name": handle,
        "owner_type": "Staff",
        "admin": title == _OFFICE_ADMIN[0],
        "sso": rng.random() < 0.5,
        "can_login": True,
        "active": True,
    }


def _contact(rng: random.Random, person: tuple[str, str, str], clients: tuple[Row, ...]) -> Row:
    """A client's contact person with a Cloud login (e.g. to answer document requests)."""
    first, _, last = person
    client = rng.choice(clients)
    domain = str(client["name"]).split(" ")[0].lower().replace("'", "") + ".example"
    return {
        "email": f"{_handle(first, last)}@{domain}",
        "first_name": first,
        "middle_name": None,
        "last_name": last,
        "title": "Controller",
        "user_name": None,
        "owner_type": "Contact",
        "admin": False,
        "sso": False,
        "can_login": True,
        "active": True,
    }


def _rank(index: int, total: int) -> tuple[str, tuple[str, ...]]:
    """Title and roles of the ``index``-th of ``total`` staff; the second is the office admin."""
    if index == 1:
        return _OFFICE_ADMIN
    share = index / total
    return next((title, roles) for limit, title, roles in _TITLES_BY_RANK if share < limit)


def _memberships_and_roles(
    rng: random.Random, users: tuple[Row, ...]
) -> tuple[tuple[Row, ...], tuple[Row, ...]]:
    members: list[Row] = []
    roles: list[Row] = []
    for index, user in enumerate(users):
        email = user["email"]
        title, titled_roles = _rank(index, len(users))
        groups = [rng.choice(list(_SERVICE_LINES)), rng.choice(list(_OFFICES))]
        if title == "Partner":
            groups.append(PARTNERS_GROUP)
        members += [{"group_name": group, "user_email": email} for group in groups]
        granted = _MANAGING_PARTNER_ROLES if index == 0 else titled_roles
        roles += [{"user_email": email, "role_name": role} for role in granted]
    return tuple(members), tuple(roles)


def _prior_cloud(rng: random.Random, rows: Rows) -> Rows:
    """What Cloud holds before syncer's first run, in API field names.

    About one client in twelve already exists (a third of those under an outdated name), the
    partners exist with an outdated title, the Audit group exists with an old description, and a
    few clients exist that desired state does not mention (syncer leaves them alone).
    """
    entities = rows["entities"]
    known = [dict(row) for row in entities[: max(3, len(entities) // 12)]]
    for row in known[::3]:
        row["name"] = f"{row['name']} (old name)"
    partners = [dict(row, title="Associate") for row in rows["users"] if row["title"] == "Partner"]
    audit = {"name": "Audit", "description": "Audit team"}
    strangers = [
        {
            "entity_no": f"LEGACY-{n:03d}",
            "name": f"{rng.choice(_PLACES)} {rng.choice(_TRADES)} (archived)",
            "organization_type": "Corporation",
            "country_code": "CA",
            "active": False,
        }
        for n in range(1, 4)
    ]
    return {
        "entities": tuple(_api_fields(OBJECT_KINDS["entities"], row) for row in known + strangers),
        "users": tuple(_api_fields(OBJECT_KINDS["users"], row) for row in partners),
        "groups": (_api_fields(OBJECT_KINDS["groups"], audit),),
    }


def _api_fields(kind: ObjectKind, row: Row) -> Row:
    """A desired row spelt as the API spells the object (driven by the kind's field specs)."""
    fields: dict[str, object] = {kind.key_field: row[kind.key_column], **kind.constant_fields}
    for spec in kind.fields:
        value = row.get(spec.column)
        if value is not None:
            fields[spec.api_name] = spec.codec.encode(value)
    return fields


@dataclass(frozen=True, slots=True)
class Edit:
    """One change the demo makes to desired state between its two plans, said for humans."""

    kind: str
    key: str
    description: str


INVALID_OWNER_TYPE: Final = "Employee"
"""Not one of the API's owner types (Staff, Contact): the second plan shows it as invalid."""


def mutate(data: DemoData) -> tuple[DemoData, tuple[Edit, ...]]:
    """A few realistic edits for the demo's second plan.

    A client renamed, a staff member leaving (deactivated), a staff member joining a group, a new
    client, a client moving (its business address updated), and a new hire typed in with owner
    type "Employee", which the plan reports as invalid and never sends.
    """
    rows = {kind: list(kind_rows) for kind, kind_rows in data.rows.items()}
    entities, users = rows["entities"], rows["users"]

    renamed = dict(entities[4], name=f"{entities[4]['name']} (amalgamated)")
    entities[4] = renamed
    leaver_index = next(
        i for i, u in reversed(list(enumerate(users))) if u["owner_type"] == "Staff"
    )
    leaver = dict(users[leaver_index], active=False)
    users[leaver_index] = leaver
    joiner = users[2]
    current = {m["group_name"] for m in rows["group_members"] if m["user_email"] == joiner["email"]}
    group = next(name for name in _SERVICE_LINES if name not in current)
    rows["group_members"].append({"group_name": group, "user_email": joiner["email"]})
    new_no = f"C-{len(entities) + 1:05d}"
    entities.append(
        {
            "entity_no": new_no,
            "name": "Northgate Orchards Ltd",
            "operating_name": "Northgate Orchards",
            "organization_type": "Corporation",
            "country_code": "CA",
            "active": True,
        }
    )
    hire = {**leaver, "email": f"new.hire@{data.domain}", "first_name": "Noor", "active": True}
    hire.update(last_name="Rahman", user_name="new.hire", owner_type=INVALID_OWNER_TYPE)
    users.append(hire)
    rows["entity_addresses"], moved, where = move_one(rows["entity_addresses"], entities)
    edits = (
        Edit("entities", str(renamed["entity_no"]), f"renamed to {renamed['name']!r}"),
        Edit("users", str(leaver["email"]), "left the firm (deactivated)"),
        Edit("group_members", f"{group}|{joiner['email']}", f"joined the {group} group"),
        Edit("entities", new_no, "new client"),
        Edit("users", str(hire["email"]), f"new hire with owner type {INVALID_OWNER_TYPE!r}"),
        Edit("entity_addresses", moved, where),
    )
    frozen: Rows = {kind: tuple(kind_rows) for kind, kind_rows in rows.items()}
    return replace(data, rows=frozen), edits
