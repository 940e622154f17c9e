"""Hypothesis strategies: small desired and Cloud states drawn from shared key pools, so that
matches, near-misses (case, whitespace) and conflicts all happen often."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from syncer.model import OBJECT_KINDS, RELATION_KINDS, FieldSpec, ObjectKind, ValueType
from syncer.plan.policy import PlanPolicy, RetireThreshold
from syncer.settings import SyncMode
from syncer.state import (
    CloudState,
    DesiredLink,
    DesiredRow,
    DesiredState,
    Origin,
    Ownership,
    RemoteObject,
)

KEYS = {
    "entities": ["C-1", "C-2", "C-3", "C-4", "c-5", " C-6"],
    "users": ["ann@x.com", "Bob@x.com", "cy@x.com", "DEE@x.com", "eve@x.com"],
    "groups": ["Audit", "tax", "Advisory", "OPS"],
}
ROLES = (
    RemoteObject("ROLE-1", 1, {"Name": "Viewer"}),
    RemoteObject("ROLE-2", 2, {"Name": "Editor"}),
    RemoteObject("ROLE-3", 3, {"Name": "Owner"}),
)
MEMBER_KEYS = {"users": KEYS["users"], "roles": ["Viewer", "editor", "Owner"]}
TEXTS = ["a", "A", " a ", "b", "", "Bb"]


def to_api(spec: FieldSpec, value: object) -> object:
    """How the API would hold a desired value: trimmed text, codec applied."""
    return spec.codec.encode(value.strip() if isinstance(value, str) else value)


Scenario = tuple[DesiredState, CloudState, dict[tuple[str, str], Ownership], PlanPolicy]


def spelled(key: str) -> st.SearchStrategy[str]:
    """The key as written, or with other case or surrounding spaces."""
    return st.sampled_from([key, key.upper(), key.lower(), f" {key} "])


def desired_value(spec: FieldSpec) -> st.SearchStrategy[object]:
    if spec.value_type is ValueType.BOOL:
        return st.none() | st.booleans()
    if spec.choices is not None:
        return st.none() | st.sampled_from(spec.choices)
    return st.none() | st.sampled_from(TEXTS)


def desired_values(kind: ObjectKind) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({spec.column: desired_value(spec) for spec in kind.fields})


@st.composite
def desired_rows(
    draw: st.DrawFn, kind: ObjectKind, *, unique: bool = True
) -> tuple[DesiredRow, ...]:
    keys = draw(st.lists(st.sampled_from(KEYS[kind.name]), unique=unique, max_size=5))
    return tuple(
        DesiredRow(draw(spelled(key)), draw(desired_values(kind)), row=i + 2)
        for i, key in enumerate(keys)
    )


@st.composite
def remote_objects(draw: st.DrawFn, kind: ObjectKind) -> tuple[RemoteObject, ...]:
    keys = draw(st.lists(st.sampled_from(KEYS[kind.name]), unique=True, max_size=5))
    objects = []
    for i, key in enumerate(keys):
        fields: dict[str, Any] = {kind.key_field: draw(spelled(key)).strip()}
        fields.update(kind.constant_fields)
        for spec in kind.fields:
            value = draw(desired_value(spec))
            fields[spec.api_name] = None if value is None else to_api(spec, value)
        guid = draw(st.sampled_from([f"{kind.name}-{i}", f"{kind.name.upper()}-{i}"]))
        objects.append(RemoteObject(guid, i + 1, fields))
    return tuple(objects)


@st.composite
def desired_links(draw: st.DrawFn, relation: str) -> tuple[DesiredLink, ...]:
    rel = RELATION_KINDS[relation]
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KEYS[rel.parent_kind]),
                st.sampled_from(MEMBER_KEYS[rel.member_kind]),
            ),
            max_size=6,
        )
    )
    return tuple(DesiredLink(p, m, row=i + 2) for i, (p, m) in enumerate(pairs))


@st.composite
def policies(draw: st.DrawFn) -> PlanPolicy:
    kinds = [*OBJECT_KINDS, *RELATION_KINDS]
    modes = draw(st.dictionaries(st.sampled_from(kinds), st.sampled_from(list(SyncMode))))
    protected = draw(
        st.dictionaries(
            st.sampled_from(list(OBJECT_KINDS)),
            st.frozensets(
                st.sampled_from([k.strip().casefold() for v in KEYS.values() for k in v])
            ),
            max_size=1,
        )
    )
    return PlanPolicy(
        modes=modes,
        protected=protected,
        threshold=RetireThreshold(draw(st.integers(0, 3)), draw(st.sampled_from([0.0, 0.5, 1.0]))),
        delete_users=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn, *, unique: bool = True) -> Scenario:
    objects = {name: draw(remote_objects(kind)) for name, kind in OBJECT_KINDS.items()}
    links: dict[str, frozenset[tuple[str, str]]] = {}
    for name, rel in RELATION_KINDS.items():
        parents = [o.cwguid for o in objects[rel.parent_kind]]
        members = [o.cwguid for o in objects.get(rel.member_kind, ROLES)]
        if parents and members:
            pairs = st.tuples(st.sampled_from(parents), st.sampled_from(members))
            links[name] = draw(st.frozensets(pairs, max_size=6))
    owned: dict[tuple[str, str], Ownership] = {}
    for name, objs in objects.items():
        kind = OBJECT_KINDS[name]
        for obj in objs:
            if draw(st.booleans()):
                key = kind.normalise_key(str(obj.fields[kind.key_field]))
                owned[(name, key)] = Ownership(name, key, obj.cwguid, obj.id, Origin.ADOPTED)
    desired = DesiredState(
        objects={
            name: draw(desired_rows(kind, unique=unique)) for name, kind in OBJECT_KINDS.items()
        },
        links={name: draw(desired_links(name)) for name in RELATION_KINDS},
        complete=draw(st.frozensets(st.sampled_from([*OBJECT_KINDS, *RELATION_KINDS]))),
    )
    cloud = CloudState(objects=objects, links=links, roles=ROLES)
    return desired, cloud, owned, draw(policies())


def cloud_matching(desired: DesiredState) -> tuple[CloudState, dict[tuple[str, str], Ownership]]:
    """A Cloud state holding exactly what ``desired`` asks for, every object owned by syncer;
    values are spelled as the API might (padded, other case where case does not matter)."""
    objects: dict[str, tuple[RemoteObject, ...]] = {}
    owned: dict[tuple[str, str], Ownership] = {}
    guids: dict[tuple[str, str], str] = {
        ("roles", str(r.fields["Name"]).casefold()): r.cwguid for r in ROLES
    }
    for name, kind in OBJECT_KINDS.items():
        made = []
        for i, row in enumerate(desired.objects.get(name, ())):
            key = kind.normalise_key(row.key)
            guid = f"{name}-{i}"
            fields: dict[str, object] = {kind.key_field: row.key, **kind.constant_fields}
            for spec in kind.fields:
                value = row.values.get(spec.column)
                if value is not None:
                    api = to_api(spec, value)
                    if isinstance(api, str) and spec.case_insensitive:
                        api = f" {api.upper()}"
                    fields[spec.api_name] = api
            made.append(RemoteObject(guid, i + 1, fields))
            guids[(name, key)] = guid
            owned[(name, key)] = Ownership(name, key, guid, i + 1, Origin.CREATED)
        objects[name] = tuple(made)
    links: dict[str, frozenset[tuple[str, str]]] = {}
    for name, rel in RELATION_KINDS.items():
        member_kind = OBJECT_KINDS.get(rel.member_kind)
        pairs = set()
        for link in desired.links.get(name, ()):
            parent = guids.get(
                (rel.parent_kind, OBJECT_KINDS[rel.parent_kind].normalise_key(link.parent))
            )
            member_key = (
                member_kind.normalise_key(link.member)
                if member_kind
                else link.member.strip().casefold()
            )
            member = guids.get((rel.member_kind, member_key))
            if parent is not None and member is not None:
                pairs.add((parent, member))
        links[name] = frozenset(pairs)
    return CloudState(objects=objects, links=links, roles=ROLES), owned
