"""After ``apply``: mark the parents whose children are now known to be in step.

A parent is marked when this run read its children or changed them, and every change of its
children went through (done): nothing skipped, held back, deferred, rejected or invalid. Its
mark records its desired children's digest, so the next run reads it again only when they
change, or when the mark grows older than the re-read interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.journal import ChangeStatus
from syncer.children.marks import Mark, by_parent, digest, write_marks
from syncer.model import CHILD_KINDS, OBJECT_KINDS, ChildKind
from syncer.plan.index import guid_key
from syncer.plan.model import Plan
from syncer.state import CloudState, DesiredState
from syncer.store.db import write_transaction
from syncer.store.idmap import read_id_map
from syncer.store.tables import changes


async def remember_in_step(
    engine: AsyncEngine,
    firm: str,
    run_id: int,
    snapshot: tuple[DesiredState, CloudState, Plan],
    now: datetime,
) -> None:
    """Write the marks of the parents this run brought (or found) in step."""
    desired, cloud, plan = snapshot
    managed = [kind for kind in CHILD_KINDS.values() if desired.children.get(kind.name)]
    if not managed:
        return
    async with engine.connect() as conn:
        owned = await read_id_map(conn, firm)
        journal = (
            await conn.execute(
                select(changes.c.kind, changes.c.key, changes.c.status).where(
                    changes.c.run_id == run_id
                )
            )
        ).all()
    async with write_transaction(engine) as conn:
        for kind in managed:
            mine = [(key, status) for name, key, status in journal if name == kind.name]
            held = [
                *(key for key, status in mine if status != ChangeStatus.DONE),
                *(
                    b.change.key
                    for b in (*plan.skipped, *plan.blocked)
                    if b.change.kind == kind.name
                ),
                *(row.key for row in plan.invalid if row.kind == kind.name),
            ]
            parents_owned = owned.of_kind(kind.parent_kind)
            touched = _parents(kind, (key for key, _ in mine))
            unsettled = _parents(kind, held)
            read = cloud.children.get(kind.name, {})
            marks = {}
            for parent, rows in by_parent(kind, desired.children[kind.name]).items():
                own = parents_owned.get(parent)
                if own is None or parent in unsettled:
                    continue
                if guid_key(own.cwguid) in read or parent in touched:
                    marks[parent] = Mark(parent, own.cwguid, digest(kind, rows), now)
            await write_marks(conn, firm, kind, marks)


def _parents(kind: ChildKind, keys: Iterable[str]) -> set[str]:
    """Normalised parent keys of child keys (``parent|category``; ``parent / category`` as the
    desired-state reader spells the key of an invalid row)."""
    parent_kind = OBJECT_KINDS[kind.parent_kind]
    found = set()
    for key in keys:
        parent = key.rpartition(" / ")[0] if "|" not in key else kind.split_key(key)[0]
        found.add(parent_kind.normalise_key(parent or key))
    return found
