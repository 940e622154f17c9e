"""Planning one child kind (entities' addresses): create after the parent, update, adopt.

A child is matched within its parent by the id map's CWGuid, else by category (one child per
category; of two sharing one, the lower ``Id``), and compared field by field like an object. A
child whose parent the plan creates is created after it. Children are never retired, in any
mode: the API has no delete for them. A parent whose children were not read this run (syncer
knows them to be in step, ``syncer.children.scope``) yields no change for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncer.model import ChildKind
from syncer.plan.changes import PARENT_ID, Action, Change, FieldChange, Skipped
from syncer.plan.index import Resolver, Target, guid_key
from syncer.plan.objects import CREATES, NOTHING, PROTECTED, UPDATES
from syncer.plan.outcome import KindOutcome
from syncer.plan.policy import PlanPolicy
from syncer.plan.values import compile_changes
from syncer.state import DesiredChild, InvalidRow, Origin, Ownership, RemoteObject
from syncer.value_rules import normalise


@dataclass(frozen=True, slots=True)
class ChildContext:
    kind: ChildKind
    policy: PlanPolicy
    parents: Resolver
    """Resolves parent keys to the parent the plan matched or creates."""
    invalid_parents: frozenset[str]
    """Normalised keys of desired parents rejected for a value: their children wait for them."""
    owned: Mapping[str, Ownership]
    """The id map's entries of the child kind, by normalised child key."""


def plan_children(
    ctx: ChildContext,
    rows: Sequence[DesiredChild],
    read: Mapping[str, tuple[RemoteObject, ...]],
) -> KindOutcome:
    """Plan every desired child; ``read`` holds the children of the parents read this run."""
    kind = ctx.kind
    out = KindOutcome(kind.name, owned=len(ctx.owned))
    changes = compile_changes(kind)
    for row in rows:
        key = kind.key_of(row.parent, row.category)
        parent = _parent(ctx, row, key, out)
        if parent is None:
            continue
        children = read.get(guid_key(parent.cwguid)) if parent.cwguid is not None else ()
        if children is None:
            out.noop += 1  # not read: in step when last seen, and desired unchanged since
            continue
        norm = kind.normalise_key(key)
        own = ctx.owned.get(norm)
        obj = _match(kind, children, row.category, own)
        fields = changes(row.values, NOTHING if obj is None else obj.fields)
        if isinstance(fields, str):
            out.invalid.append(InvalidRow(kind.name, key, fields, row.row))
        elif obj is None:
            _create(ctx, key, row, parent, fields, out=out)
        else:
            mapped = own is not None and guid_key(own.cwguid) == guid_key(obj.cwguid)
            if not mapped and not ctx.policy.is_protected(kind.name, norm):
                out.adoptions.append(Ownership(kind.name, key, obj.cwguid, obj.id, Origin.ADOPTED))
            if fields:
                _update(ctx, key, obj, fields, out)
            else:
                out.noop += 1
    return out


def _parent(ctx: ChildContext, row: DesiredChild, key: str, out: KindOutcome) -> Target | None:
    """The row's parent, or ``None`` with the row recorded as invalid (parent missing or bad)."""
    kind = ctx.kind
    raw = row.parent.strip()
    reason = None
    if ctx.parents.normalise(raw) in ctx.invalid_parents:
        reason = f"{kind.parent_column} {raw!r} is an invalid row of desired {kind.parent_kind}"
    else:
        target = ctx.parents.resolve(raw)
        if target is not None:
            return target
        reason = (
            f"{kind.parent_column} {raw!r} is neither in desired {kind.parent_kind} nor in Cloud"
        )
    out.invalid.append(InvalidRow(kind.name, key, reason, row.row))
    return None


def _match(
    kind: ChildKind,
    children: Sequence[RemoteObject],
    category: str,
    own: Ownership | None,
) -> RemoteObject | None:
    """The parent's child the id map names, else the one of this category (lowest Id)."""
    if own is not None:
        wanted = guid_key(own.cwguid)
        for child in children:
            if guid_key(child.cwguid) == wanted:
                return child
    same = [
        child
        for child in children
        if normalise(child.fields.get(kind.category_field), True) == normalise(category, True)
    ]
    return min(same, key=lambda c: (c.id is None, c.id or 0, guid_key(c.cwguid)), default=None)


def _held(ctx: ChildContext, key: str, allowed: bool) -> str | None:
    if ctx.policy.is_protected(ctx.kind.name, ctx.kind.normalise_key(key)):
        return PROTECTED
    if not allowed:
        return f"{ctx.kind.name} mode is {ctx.policy.mode(ctx.kind.name)}"
    return None


def _create(
    ctx: ChildContext,
    key: str,
    row: DesiredChild,
    parent: Target,
    managed: dict[str, FieldChange],
    *,
    out: KindOutcome,
) -> None:
    """A create sends the category and every managed value the row sets, to its parent."""
    kind = ctx.kind
    fields = {kind.category_field: FieldChange(None, row.category.strip()), **managed}
    change = Change(kind.name, Action.CREATE, key, None, fields, {PARENT_ID: parent.cwguid})
    held = _held(ctx, key, ctx.policy.mode(kind.name) in CREATES)
    if held is None and parent.held is not None:
        held = f"{parent.display!r} is not created: {parent.held}"
    if held is None:
        out.changes.append(change)
    else:
        out.skipped.append(Skipped(change, held))


def _update(
    ctx: ChildContext,
    key: str,
    obj: RemoteObject,
    fields: dict[str, FieldChange],
    out: KindOutcome,
) -> None:
    change = Change(ctx.kind.name, Action.UPDATE, key, obj.cwguid, fields)
    held = _held(ctx, key, ctx.policy.mode(ctx.kind.name) in UPDATES)
    if held is None:
        out.changes.append(change)
    else:
        out.skipped.append(Skipped(change, held))
