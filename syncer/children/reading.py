"""Reading children into the Cloud snapshot: only of managed kinds, only where needed.

A child kind without desired rows is not managed and costs no request at all. For the others,
``scope`` picks the parents to read from the marks ``apply`` left.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.children.marks import read_marks
from syncer.children.scope import ReadPolicy, parent_guids, parents_to_read
from syncer.cloud import CloudClient, PageCallback, read_children
from syncer.model import CHILD_KINDS
from syncer.settings import SyncSettings
from syncer.state import CloudState, DesiredState, IdMap, RemoteObject
from syncer.store.db import read_connection


@dataclasses.dataclass(frozen=True, slots=True)
class ChildReading:
    """What deciding and reading needs besides the two snapshots."""

    engine: AsyncEngine
    firm: str
    policy: ReadPolicy

    @classmethod
    def of(
        cls, engine: AsyncEngine, firm: str, sync: SyncSettings, now: datetime, *, refresh: bool
    ) -> ChildReading:
        reread = timedelta(days=sync.reread_children_days)
        return cls(engine, firm, ReadPolicy(now, reread, refresh))


async def with_children(
    reading: ChildReading,
    client: CloudClient,
    desired: DesiredState,
    cloud: CloudState,
    owned: IdMap,
    *,
    on_page: PageCallback | None = None,
) -> CloudState:
    """``cloud`` with the children of the parents that need reading (``CloudState.children``)."""
    children: dict[str, dict[str, tuple[RemoteObject, ...]]] = {}
    for kind in CHILD_KINDS.values():
        rows = desired.children.get(kind.name, ())
        if not rows:
            continue
        async with read_connection(reading.engine) as conn:
            marks = await read_marks(conn, reading.firm, kind)
        guids = parent_guids(kind, cloud, owned.of_kind(kind.parent_kind))
        wanted = parents_to_read(kind, rows, guids, marks, reading.policy)
        children[kind.name] = await read_children(client, kind, wanted, on_page)
    return dataclasses.replace(cloud, children=children)
