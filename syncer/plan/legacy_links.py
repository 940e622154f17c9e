"""The assignments of a plan file written before ``Change.link`` existed.

Such a file names an assignment only by its display key ``"<parent>|<member>"``. A key with one
``|`` cuts in one way (``serialise`` does that as it reads); a key with several (a group named
``R|D``) is cut where both ends make sense, as apply used to: an end is known when the plan gave
its CWGuid or creates an object of that key; failing that, at the first ``|``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from syncer.model import RELATION_KINDS, LinkKey, RelationKind, normalise_key
from syncer.plan.changes import Action, Change


def settle_links(changes: Iterable[Change], plan: Iterable[Change]) -> tuple[Change, ...]:
    """``changes`` with every assignment's ends filled in; ``plan`` is every change of the
    file (its creates tell which keys will exist)."""
    changes = tuple(changes)
    if all(change.link is not None or change.kind not in RELATION_KINDS for change in changes):
        return changes
    created: dict[str, set[str]] = {}
    for change in plan:
        if change.action is Action.CREATE:
            created.setdefault(change.kind, set()).add(normalise_key(change.kind, change.key))
    return tuple(
        change
        if change.link is not None or change.kind not in RELATION_KINDS
        else replace(change, link=_cut(change, RELATION_KINDS[change.kind], created))
        for change in changes
    )


def _cut(change: Change, relation: RelationKind, created: Mapping[str, Collection[str]]) -> LinkKey:
    member_id = change.carry.get("member_id")
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
            return LinkKey(parent, member)
    return LinkKey(change.key[: cuts[0]], change.key[cuts[0] + 1 :])
