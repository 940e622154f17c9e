"""Reading the whole of a firm's Cloud state into a ``CloudState`` snapshot.

Kinds are read concurrently and so are the member lists of groups (and the pages of each list,
``syncer.cloud.paging``); the client's limiter paces it all, so reading as fast as the API allows
needs no pacing here. One log line at the end says how many pages it took, how many were asked
for past a list's end, and the latency per route family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import anyio

from syncer.assumptions import ApiSettings
from syncer.cloud.client import CloudClient
from syncer.cloud.shapes import field_of
from syncer.logs import get_logger
from syncer.model import OBJECT_KINDS, RELATION_KINDS, ChildKind, RelationKind
from syncer.state import CloudState, RemoteObject

log = get_logger(__name__)

PageCallback = Callable[[str, int], None]
"""Told (kind, objects read so far) as reading progresses, for progress bars and logs."""


async def read_cloud_state(
    client: CloudClient,
    *,
    on_page: PageCallback | None = None,
    expected: Mapping[str, int] | None = None,
) -> CloudState:
    """Every kind's objects, the roles and the relations. ``expected`` is how many objects of
    each kind there should be (desired state's rows: a firm in step has as many), so that
    reading a kind does not guess pages past them."""
    objects: dict[str, tuple[RemoteObject, ...]] = {}
    roles: list[RemoteObject] = []
    counts = expected or {}

    async def read_kind(name: str) -> None:
        found = await client.list_objects(OBJECT_KINDS[name], expected=counts.get(name))
        objects[name] = tuple(found)
        if on_page is not None:
            on_page(name, len(objects[name]))

    async def read_roles() -> None:
        roles.extend(await client.list_roles())

    async with anyio.create_task_group() as tg:
        for name in OBJECT_KINDS:
            tg.start_soon(read_kind, name)
        tg.start_soon(read_roles)

    links: dict[str, frozenset[tuple[str, str]]] = {}
    for relation in RELATION_KINDS.values():
        parents = objects[relation.parent_kind]
        if relation.read_path is None:
            links[relation.name] = _links_from_field(relation, parents, roles, client.api)
        elif client.api.members_readable:
            links[relation.name] = await _read_member_lists(client, relation, parents, on_page)
        else:
            # Nobody can be seen in a group: every desired member is (idempotently) added, and
            # no member is ever removed, since syncer cannot tell who is there.
            links[relation.name] = frozenset()
    log.info(
        "cloud state read",
        pages=client.paging.pages,
        pages_past_end=client.paging.past_end,
        latency=client.latencies.summary(),
    )
    return CloudState(objects=objects, links=links, roles=tuple(roles))


async def _read_member_lists(
    client: CloudClient,
    relation: RelationKind,
    parents: tuple[RemoteObject, ...],
    on_page: PageCallback | None,
) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()

    async def read(parent: RemoteObject) -> None:
        members = await client.list_members(relation, parent.cwguid)
        pairs.update((parent.cwguid, member) for member in members)
        if on_page is not None:
            on_page(relation.name, len(pairs))

    async with anyio.create_task_group() as tg:
        for parent in parents:
            tg.start_soon(read, parent)
    return frozenset(pairs)


def _links_from_field(
    relation: RelationKind,
    parents: tuple[RemoteObject, ...],
    members: list[RemoteObject],
    api: ApiSettings,
) -> frozenset[tuple[str, str]]:
    """Links listed on the parent itself (users' ``FirmWideRoleIds``: the roles' numeric ``Id``
    or their ``CWGuid``, as ``cloud.api.user_roles_reference`` says)."""
    assert relation.read_field is not None
    guid_by_ref: dict[object, str] = {
        (member.id if api.user_roles_reference == "Id" else member.cwguid.casefold()): member.cwguid
        for member in members
    }
    pairs: set[tuple[str, str]] = set()
    for parent in parents:
        for reference in field_of(parent.fields, relation.read_field) or ():
            key = reference.casefold() if isinstance(reference, str) else reference
            guid = guid_by_ref.get(key)
            if guid is not None:
                pairs.add((parent.cwguid, guid))
    return frozenset(pairs)


async def read_children(
    client: CloudClient,
    kind: ChildKind,
    parents: Iterable[str],
    on_page: PageCallback | None = None,
) -> dict[str, tuple[RemoteObject, ...]]:
    """The children of each parent (one list per parent, read concurrently), by the parent's
    lowered CWGuid."""
    found: dict[str, tuple[RemoteObject, ...]] = {}

    async def read(parent: str) -> None:
        found[parent.lower()] = tuple(await client.list_children(kind, parent))
        if on_page is not None:
            on_page(kind.name, len(found))

    async with anyio.create_task_group() as tg:
        for parent in parents:
            tg.start_soon(read, parent)
    return found
