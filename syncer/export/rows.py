"""Cloud state as desired-state rows: the inverse of what ``syncer load`` reads.

A firm adopting syncer already holds its clients and staff in Cloud; exporting them in ``load``'s
own format lets it start from a desired state equal to Cloud (its first plan is empty). Values are
decoded through each field's codec (``Type: "A"`` becomes ``active = true``), so the rows say what
a user would have written. An object ``load`` would refuse (no natural key, or a value outside a
field's choices, such as a ``Plugin`` user) is left out, and so are assignments naming one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from syncer.cloud import field_of
from syncer.model import (
    CHILD_KINDS,
    OBJECT_KINDS,
    RELATION_KINDS,
    ChildKind,
    ObjectKind,
    RelationKind,
)
from syncer.plan import guid_key
from syncer.state import CloudState, RemoteObject

Row = dict[str, object]


@dataclass(slots=True)
class Exported:
    """Rows per kind, and how many Cloud objects per kind were left out (with why)."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)


def object_row(kind: ObjectKind, obj: RemoteObject) -> Row | None:
    """The desired row of ``obj``, or ``None`` when ``load`` could not take it back."""
    key = field_of(obj.fields, kind.key_field)
    if not isinstance(key, str) or not key.strip():
        return None
    row: Row = {kind.key_column: key.strip()}
    for spec in kind.fields:
        value = spec.codec.decode(field_of(obj.fields, spec.api_name))
        if spec.choices is not None and value is not None and value not in spec.choices:
            return None
        row[spec.column] = value
    return row


def export_rows(cloud: CloudState, kinds: frozenset[str]) -> Exported:
    """The rows of every kind in ``kinds`` (objects first, so links can name their ends)."""
    out = Exported()
    keys: dict[str, dict[str, str]] = {}
    """Kind -> lowered CWGuid -> the exported natural key (roles by name)."""
    for kind in OBJECT_KINDS.values():
        rows, keys[kind.name] = _objects(kind, cloud.objects.get(kind.name, ()))
        if kind.name in kinds:
            out.rows[kind.name] = rows
            out.left_out[kind.name] = len(cloud.objects.get(kind.name, ())) - len(rows)
    keys["roles"] = {
        guid_key(role.cwguid): str(field_of(role.fields, "Name")) for role in cloud.roles
    }
    for relation in RELATION_KINDS.values():
        if relation.name in kinds:
            pairs = cloud.links.get(relation.name, frozenset())
            rows = sorted(_links(relation, pairs, keys), key=_link_order(relation))
            out.rows[relation.name] = rows
            out.left_out[relation.name] = len(pairs) - len(rows)
    for child in CHILD_KINDS.values():
        if child.name in kinds:
            read = cloud.children.get(child.name, {})
            rows = _children(child, read, keys[child.parent_kind])
            out.rows[child.name] = rows
            out.left_out[child.name] = sum(map(len, read.values())) - len(rows)
    return out


def _children(
    kind: ChildKind, read: Mapping[str, tuple[RemoteObject, ...]], parents: Mapping[str, str]
) -> list[Row]:
    """One row per parent and category (of two sharing one, the lower Id, as the planner
    matches); children of parents not exported, or without a usable category, are left out."""
    rows: dict[tuple[str, str], Row] = {}
    for parent_guid, children in read.items():
        parent = parents.get(guid_key(parent_guid))
        for child in sorted(children, key=lambda c: (c.id is None, c.id or 0)):
            category = field_of(child.fields, kind.category_field)
            if parent is None or not isinstance(category, str) or not category.strip():
                continue
            if "|" in category or (parent, category.strip().casefold()) in rows:
                continue
            row: Row = {kind.parent_column: parent, kind.category_column: category.strip()}
            row.update((spec.column, field_of(child.fields, spec.api_name)) for spec in kind.fields)
            rows[parent, category.strip().casefold()] = row
    return [rows[key] for key in sorted(rows)]


def _objects(
    kind: ObjectKind, objects: tuple[RemoteObject, ...]
) -> tuple[list[Row], dict[str, str]]:
    rows: list[Row] = []
    keys: dict[str, str] = {}
    seen: set[str] = set()
    for obj in sorted(objects, key=lambda o: (o.id is None, o.id or 0, guid_key(o.cwguid))):
        row = object_row(kind, obj)
        if row is None:
            continue
        key = str(row[kind.key_column])
        normalised = kind.normalise_key(key)
        if normalised in seen:
            continue  # two Cloud objects share a key: the planner takes the lower Id, so do we
        seen.add(normalised)
        rows.append(row)
        keys[guid_key(obj.cwguid)] = key
    rows.sort(key=lambda row: str(row[kind.key_column]))
    return rows, keys


def _links(
    relation: RelationKind,
    pairs: frozenset[tuple[str, str]],
    keys: Mapping[str, Mapping[str, str]],
) -> Iterator[Row]:
    parents, members = keys[relation.parent_kind], keys[relation.member_kind]
    for parent_guid, member_guid in pairs:
        parent = parents.get(guid_key(parent_guid))
        member = members.get(guid_key(member_guid))
        if parent is not None and member is not None:
            yield {relation.parent_column: parent, relation.member_column: member}


def _link_order(relation: RelationKind) -> Callable[[Row], tuple[str, str]]:
    def order(row: Row) -> tuple[str, str]:
        return (str(row[relation.parent_column]), str(row[relation.member_column]))

    return order
