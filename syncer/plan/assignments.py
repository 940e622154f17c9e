"""Planning one assignment kind (group members, users' roles): add and, in mirror mode, remove.

Desired links name their ends by natural key; Cloud links are CWGuid pairs. Both are compared as
CWGuid pairs once each end is resolved, so a renamed object keeps its assignments. Removals touch
only assignments whose parent syncer owns, never those of an object being deleted anyway, and
never come from an empty source (more likely a broken export than a wish to strip everyone).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass

from syncer.model import OBJECT_KINDS, LinkKey, RelationKind
from syncer.plan.changes import Action, Change, Skipped, key_text
from syncer.plan.index import Resolver, Target, guid_key
from syncer.plan.objects import PROTECTED
from syncer.plan.outcome import KindOutcome
from syncer.plan.policy import PlanPolicy
from syncer.settings import SyncMode
from syncer.state import DesiredLink, InvalidRow, Ownership


@dataclass(frozen=True, slots=True)
class RelationContext:
    relation: RelationKind
    policy: PlanPolicy
    parents: Resolver
    members: Resolver
    owned_parents: Mapping[str, Ownership]
    """The id map's entries of the parent kind: only assignments of parents syncer owns are
    removed. Their CWGuids are collected only when removals are planned (a relation without
    desired rows needs none, and a big firm owns hundreds of thousands of users)."""
    doomed: Set[str]
    """Lower-cased CWGuids of objects the plan deletes; their assignments go with them."""

    def protected(self, parent: str, member: str) -> bool:
        name = self.relation.name
        parent_key = self.parents.normalise(parent)
        return (
            self.policy.is_protected(self.relation.parent_kind, parent_key)
            or self.policy.is_protected(name, parent_key)
            or self.policy.is_protected(name, f"{parent_key}|{self.members.normalise(member)}")
        )


def plan_links(
    ctx: RelationContext,
    links: Collection[DesiredLink],
    cloud_links: Iterable[tuple[str, str]],
    *,
    complete: bool,
) -> KindOutcome:
    relation = ctx.relation
    out = KindOutcome(relation.name)
    existing = {(guid_key(parent), guid_key(member)) for parent, member in cloud_links}
    wanted: set[tuple[str, str]] = set()
    seen: set[LinkKey] = set()
    for link in links:
        parent = ctx.parents.resolve(link.parent)
        member = ctx.members.resolve(link.member)
        if parent is None or member is None:
            out.invalid.append(_unresolved(ctx, link, parent is None))
            continue
        key = LinkKey(parent.display, member.display)
        if key in seen:
            continue
        seen.add(key)
        if parent.cwguid is not None and member.cwguid is not None:
            pair = (guid_key(parent.cwguid), guid_key(member.cwguid))
            wanted.add(pair)
            if pair in existing:
                out.noop += 1
                continue
        _plan_add(ctx, key, parent, member, out)
    if ctx.policy.mode(relation.name) is SyncMode.MIRROR and complete and links:
        _plan_removals(ctx, existing, wanted, out)
    return out


def _unresolved(ctx: RelationContext, link: DesiredLink, parent_missing: bool) -> InvalidRow:
    relation = ctx.relation
    column, kind, raw = (
        (relation.parent_column, relation.parent_kind, link.parent)
        if parent_missing
        else (relation.member_column, relation.member_kind, link.member)
    )
    reason = (
        f"{column} {raw.strip()!r} is neither in desired {kind} nor in Cloud"
        if kind in OBJECT_KINDS
        else f"{column} {raw.strip()!r} is not among the firm's {kind} in Cloud"
    )
    return InvalidRow(relation.name, key_text(LinkKey(link.parent, link.member)), reason, link.row)


def _plan_add(
    ctx: RelationContext, key: LinkKey, parent: Target, member: Target, out: KindOutcome
) -> None:
    change = Change.assignment(ctx.relation.name, Action.ADD, key, parent.cwguid, member.cwguid)
    ends = (parent, member)
    held = parent.held or member.held
    if ctx.protected(parent.display, member.display):
        out.skipped.append(Skipped(change, PROTECTED))
    elif any(end.cwguid is not None and guid_key(end.cwguid) in ctx.doomed for end in ends):
        out.skipped.append(Skipped(change, "an end of it is deleted by this plan"))
    elif held is not None:
        end = parent if parent.held else member
        out.skipped.append(Skipped(change, f"{end.display!r} is not created: {held}"))
    else:
        out.changes.append(change)


def _plan_removals(
    ctx: RelationContext,
    existing: Set[tuple[str, str]],
    wanted: Set[tuple[str, str]],
    out: KindOutcome,
) -> None:
    owned_parents = frozenset(guid_key(own.cwguid) for own in ctx.owned_parents.values())
    for parent_guid, member_guid in existing:
        if parent_guid not in owned_parents:
            continue
        out.owned += 1
        if (parent_guid, member_guid) in wanted:
            continue
        if parent_guid in ctx.doomed or member_guid in ctx.doomed:
            continue
        parent = ctx.parents.display_of(parent_guid)
        member = ctx.members.display_of(member_guid)
        change = Change.assignment(
            ctx.relation.name,
            Action.REMOVE,
            LinkKey(parent, member),
            _cloud_spelling(ctx.parents, parent_guid),
            _cloud_spelling(ctx.members, member_guid),
        )
        if ctx.protected(parent, member):
            out.skipped.append(Skipped(change, PROTECTED))
        else:
            out.retirements.append(change)


def _cloud_spelling(resolver: Resolver, lowered: str) -> str:
    """The CWGuid as Cloud wrote it (pairs are compared lower-cased)."""
    obj = resolver.cloud.by_guid.get(lowered)
    return lowered if obj is None else obj.cwguid
