"""Assignment changes grouped into batches: one PATCH per parent and direction.

An assignment change is keyed by its two ends (``Change.key``, a ``LinkKey``: either end may
contain a ``|``, so no text is ever cut apart). Changes of one parent and one direction are
batched up to the relation's batch size, since the API takes a list of members and one request
then does the work of many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syncer.model import LinkKey, RelationKind, normalise_key
from syncer.plan import MEMBER_ID, Action, Change


@dataclass(frozen=True, slots=True)
class LinkEnds:
    parent: str
    member: str
    parent_id: str | None
    member_id: str | None


def split_ends(change: Change) -> LinkEnds:
    """The two ends of an assignment change, by key and (where they exist) by CWGuid."""
    link = change.key
    if not isinstance(link, LinkKey):
        raise TypeError(f"{change.kind} change {link!r} is not keyed by two ends")
    member_id = change.carry.get(MEMBER_ID)
    member_guid = member_id if isinstance(member_id, str) else None
    return LinkEnds(link.parent, link.member, change.remote_id, member_guid)


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


def batches(relation: RelationKind, changes: Iterable[Change]) -> list[LinkBatch]:
    """The relation's changes grouped per (direction, parent), in plan order, chunked."""
    groups: dict[tuple[Action, str], list[tuple[Change, LinkEnds]]] = {}
    for change in changes:
        ends = split_ends(change)
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
