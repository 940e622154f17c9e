"""Assignment changes grouped into batches: one PATCH per parent and direction.

An assignment change is keyed ``"<parent key>|<member key>"``; either end may contain a ``|``
itself (a group name may), so the key is split where both ends make sense: an end is known when
the plan gave its CWGuid or when the plan creates an object of that key. Changes of one parent and
one direction are batched up to the relation's batch size, since the API takes a list of members
and one request then does the work of many.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from syncer.model import CHILD_KINDS, OBJECT_KINDS, RelationKind
from syncer.plan.model import Action, Change

MEMBER_ID = "member_id"
"""The ``Change.carry`` entry holding the member's CWGuid when it already exists."""


def normalise_key(kind: str, key: str) -> str:
    """A kind's comparable key; roles (read-only, not an object kind) compare case-insensitively."""
    found = OBJECT_KINDS.get(kind) or CHILD_KINDS.get(kind)
    return found.normalise_key(key) if found else key.strip().casefold()


@dataclass(frozen=True, slots=True)
class LinkEnds:
    parent: str
    member: str
    parent_id: str | None
    member_id: str | None


def split_ends(
    change: Change, relation: RelationKind, created: Mapping[str, Collection[str]]
) -> LinkEnds:
    """The two ends of an assignment change. ``created`` maps kind -> normalised keys created."""
    member_id = change.carry.get(MEMBER_ID)
    member_guid = member_id if isinstance(member_id, str) else None

    def known(kind: str, key: str, guid: str | None) -> bool:
        return guid is not None or normalise_key(kind, key) in created.get(kind, ())

    cuts = [i for i, char in enumerate(change.key) if char == "|"]
    if not cuts:
        raise ValueError(f"assignment key {change.key!r} has no '|'")
    for cut in cuts:
        parent, member = change.key[:cut], change.key[cut + 1 :]
        if known(relation.parent_kind, parent, change.remote_id) and known(
            relation.member_kind, member, member_guid
        ):
            return LinkEnds(parent, member, change.remote_id, member_guid)
    cut = cuts[0]
    return LinkEnds(change.key[:cut], change.key[cut + 1 :], change.remote_id, member_guid)


@dataclass(frozen=True, slots=True)
class LinkBatch:
    relation: RelationKind
    action: Action
    parent: str
    parent_id: str | None
    items: tuple[tuple[Change, LinkEnds], ...]

    @property
    def remove(self) -> bool:
        return self.action is Action.REMOVE


def batches(
    relation: RelationKind,
    changes: Iterable[Change],
    created: Mapping[str, Collection[str]],
) -> list[LinkBatch]:
    """The relation's changes grouped per (direction, parent), in plan order, chunked."""
    groups: dict[tuple[Action, str], list[tuple[Change, LinkEnds]]] = {}
    for change in changes:
        ends = split_ends(change, relation, created)
        parent = (
            ends.parent_id.lower()
            if ends.parent_id
            else normalise_key(relation.parent_kind, ends.parent)
        )
        groups.setdefault((change.action, parent), []).append((change, ends))
    result: list[LinkBatch] = []
    for (action, _), items in groups.items():
        first = items[0][1]
        for start in range(0, len(items), relation.batch_size):
            chunk = tuple(items[start : start + relation.batch_size])
            result.append(LinkBatch(relation, action, first.parent, first.parent_id, chunk))
    return result
