"""Hypothesis strategies: small desired and Cloud states drawn from shared key pools, so that
matches, near-misses (case, whitespace) and conflicts all happen often.

Each strategy is built once (at import, or cached by what it depends on) rather than inside every
draw: hypothesis validates a new strategy object on its first draw, and building and validating
them afresh for every value took most of these tests' time. The strategies (and so the states
they can draw) are the same as when they were built in the draws.
"""

from __future__ import annotations

from functools import cache
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


@cache
def spelled(key: str) -> st.SearchStrategy[str]:
    """The key as written, or with other case or surrounding spaces."""
    return st.sampled_from([key, key.upper(), key.lower(), f" {key} "])


def desired_value(spec: FieldSpec) -> st.SearchStrategy[object]:
    if spec.value_type is ValueType.BOOL:
        return st.none() | st.booleans()
    if spec.choices is not None:
        return st.none() | st.sampled_from(spec.choices)
    return st.none() | st.sampled_from(TEXTS)


FIELD_VALUES = {
    name: tuple((spec, desired_value(spec)) for spec in kind.fields)
    for name, kind in OBJECT_KINDS.items()
}
"""Each kind's fields with the strategy of their values."""
ROW_VALUES = {
    name: st.fixed_dictionaries({spec.column: value for spec, value in fields})
    for name, fields in FIELD_VALUES.items()
}
"""Each kind's desired row values."""
KEY_LISTS = {
    unique: {
        name: st.lists(st.sampled_from(keys), unique=unique, max_size=5)
        for name, keys in KEYS.items()
    }
    for unique in (False, True)
}
"""Each kind's keys of a state (``True``: each key at most once)."""


@cache
def guid(kind: str, i: int) -> st.SearchStrategy[str]:
    """The ``i``-th object's guid, in upper or lower case."""
    return st.sampled_from([f"{kind}-{i}", f"{kind.upper()}-{i}"])


@st.composite
def desired_rows(
    draw: st.DrawFn, kind: ObjectKind, *, unique: bool = True
) -> tuple[DesiredRow, ...]:
    keys = draw(KEY_LISTS[unique][kind.name])
    return tuple(
        DesiredRow(draw(spelled(key)), draw(ROW_VALUES[kind.name]), row=i + 2)
        for i, key in enumerate(keys)
    )


@st.composite
def remote_objects(draw: st.DrawFn, kind: ObjectKind) -> tuple[RemoteObject, ...]:
    keys = draw(KEY_LISTS[True][kind.name])
    objects = []
    for i, key in enumerate(keys):
        fields: dict[str, Any] = {kind.key_field: draw(spelled(key)).strip()}
        fields.update(kind.constant_fields)
        for spec, values in FIELD_VALUES[kind.name]:
            value = draw(values)
            fields[spec.api_name] = None if value is None else to_api(spec, value)
        objects.append(RemoteObject(draw(guid(kind.name, i)), i + 1, fields))
    return tuple(objects)


LINK_PAIRS = {
    relation: st.lists(
        st.tuples(
            st.sampled_from(KEYS[rel.parent_kind]),
            st.sampled_from(MEMBER_KEYS[rel.member_kind]),
        ),
        max_size=6,
    )
    for relation, rel in RELATION_KINDS.items()
}
"""Each relation's desired (parent key, member key) pairs."""


@st.composite
def desired_links(draw: st.DrawFn, relation: str) -> tuple[DesiredLink, ...]:
    pairs = draw(LINK_PAIRS[relation])
    return tuple(DesiredLink(p, m, row=i + 2) for i, (p, m) in enumerate(pairs))


_KINDS = [*OBJECT_KINDS, *RELATION_KINDS]
POLICIES = st.builds(
    PlanPolicy,
    modes=st.dictionaries(st.sampled_from(_KINDS), st.sampled_from(list(SyncMode))),
    protected=st.dictionaries(
        st.sampled_from(list(OBJECT_KINDS)),
        st.frozensets(st.sampled_from([k.strip().casefold() for v in KEYS.values() for k in v])),
        max_size=1,
    ),
    threshold=st.builds(RetireThreshold, st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0])),
    delete_users=st.booleans(),
)
"""Plan policies: sync modes, protected keys, a retirement threshold."""
COMPLETE = st.frozensets(st.sampled_from(_KINDS))
"""Which kinds' desired rows were read completely."""
BOOLEANS = st.booleans()


@cache
def link_sets(
    parents: tuple[str, ...], members: tuple[str, ...]
) -> st.SearchStrategy[frozenset[tuple[str, str]]]:
    """Cloud's links between objects of these guids."""
    return st.frozensets(st.tuples(st.sampled_from(parents), st.sampled_from(members)), max_size=6)


REMOTE_OBJECTS = {name: remote_objects(kind) for name, kind in OBJECT_KINDS.items()}
DESIRED_ROWS = {
    unique: {name: desired_rows(kind, unique=unique) for name, kind in OBJECT_KINDS.items()}
    for unique in (False, True)
}
DESIRED_LINKS = {name: desired_links(name) for name in RELATION_KINDS}


@st.composite
def scenarios(draw: st.DrawFn, *, unique: bool = True) -> Scenario:
    objects = {name: draw(strategy) for name, strategy in REMOTE_OBJECTS.items()}
    links: dict[str, frozenset[tuple[str, str]]] = {}
    for name, rel in RELATION_KINDS.items():
        parents = tuple(o.cwguid for o in objects[rel.parent_kind])
        members = tuple(o.cwguid for o in objects.get(rel.member_kind, ROLES))
        if parents and members:
            links[name] = draw(link_sets(parents, members))
    owned: dict[tuple[str, str], Ownership] = {}
    for name, objs in objects.items():
        kind = OBJECT_KINDS[name]
        for obj in objs:
            if draw(BOOLEANS):
                key = kind.normalise_key(str(obj.fields[kind.key_field]))
                owned[(name, key)] = Ownership(name, key, obj.cwguid, obj.id, Origin.ADOPTED)
    desired = DesiredState(
        objects={name: draw(strategy) for name, strategy in DESIRED_ROWS[unique].items()},
        links={name: draw(strategy) for name, strategy in DESIRED_LINKS.items()},
        complete=draw(COMPLETE),
    )
    cloud = CloudState(objects=objects, links=links, roles=ROLES)
    return desired, cloud, owned, draw(POLICIES)


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
