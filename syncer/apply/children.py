"""Child changes (entities' addresses) on the wire: create through the parent, then find again.

The create endpoint answers only the new child's numeric ``Id`` [seen], so the child's CWGuid,
which the id map and later updates need, is found by reading the parent's children. A create
whose outcome is unknown is looked up by (parent, category) before it is sent again, exactly as
objects are looked up by natural key: the same category under the same parent is the same child.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncer.apply.api import CloudApi
from syncer.apply.creating import create_once
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.cloud import field_of
from syncer.model import CHILD_KINDS, OBJECT_KINDS, ChildKind
from syncer.plan import Action, Change
from syncer.state import Origin, RemoteObject
from syncer.value_rules import normalise


def child_body(change: Change) -> dict[str, object]:
    """What a child's POST or PATCH carries: the new values (the parent travels in the path)."""
    return {name: fc.after for name, fc in change.fields.items()}


async def find_child(
    client: CloudApi, kind: ChildKind, parent_cwguid: str, category: str
) -> RemoteObject | None:
    """The parent's child of ``category`` (case-insensitive), the lowest ``Id`` of several."""
    return of_category(kind, await client.list_children(kind, parent_cwguid), category)


def of_category(
    kind: ChildKind, children: Sequence[RemoteObject], category: str
) -> RemoteObject | None:
    wanted = normalise(category, True)
    same = [
        child
        for child in children
        if normalise(field_of(child.fields, kind.category_field), True) == wanted
    ]
    return min(same, key=lambda c: (c.id is None, c.id or 0), default=None)


async def find_created(client: CloudApi, kind_name: str, key: str) -> RemoteObject | None:
    """An object or child of ``kind_name`` by its key, as a create would have made it: objects
    by natural key, children by their parent's natural key and their category."""
    child = CHILD_KINDS.get(kind_name)
    if child is None:
        return await client.find_by_key(OBJECT_KINDS[kind_name], key)
    parent_key, category = child.split_key(key)
    parent = await client.find_by_key(OBJECT_KINDS[child.parent_kind], parent_key)
    if parent is None:
        return None
    return await find_child(client, child, parent.cwguid, category)


async def perform_child_change(
    client: CloudApi, kind: ChildKind, change: Change, parent_cwguid: str | None
) -> Outcome:
    """Send one child change (a create needs its parent's CWGuid); API errors propagate to the
    executor's guard."""
    body = child_body(change)
    if change.action is not Action.CREATE:
        assert change.remote_id is not None
        await client.update_child(kind, change.remote_id, body)
        return Outcome(ChangeStatus.DONE)
    assert parent_cwguid is not None
    _, category = kind.split_key(change.object_key)

    async def adopt(found: RemoteObject) -> Outcome:
        await client.update_child(kind, found.cwguid, body)
        return Outcome(ChangeStatus.DONE, "adopted an existing child", found, Origin.ADOPTED)

    return await create_once(
        lambda: client.create_child(kind, parent_cwguid, body),
        lambda: find_child(client, kind, parent_cwguid, category),
        lambda answer: _created(client, kind, parent_cwguid, category, answer),
        adopt,
        found_by="category",
    )


async def _created(
    client: CloudApi,
    kind: ChildKind,
    parent_cwguid: str,
    category: str,
    answer: int | RemoteObject,
) -> Outcome:
    """The created child, found again: by the ``Id`` answered, else (an object answered) as it
    came, else by category."""
    if isinstance(answer, RemoteObject):
        return Outcome(ChangeStatus.DONE, None, answer, Origin.CREATED)
    children = await client.list_children(kind, parent_cwguid)
    found = next((c for c in children if c.id == answer), None)
    found = found or of_category(kind, children, category)
    if found is None:
        return Outcome(ChangeStatus.DONE, f"created (Id {answer!r}) but not found again")
    return Outcome(ChangeStatus.DONE, None, found, Origin.CREATED)
