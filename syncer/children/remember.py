"""After ``apply``: mark the parents whose children are now known to be in step.

A parent is marked when this run read its children or changed them, and every change of its
children went through (done): nothing left over in the plan of Cloud as it was read this run
nor in the plan carried out (they differ with ``apply --plan``), nothing skipped, held back,
deferred, rejected or invalid. Its mark records its desired children's digest, so the next run
reads it again only when they change, or when the mark grows older than the re-read interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply import ChangeStatus
from syncer.children.marks import Mark, by_parent, digest, write_marks
from syncer.model import CHILD_KINDS, ChildKind, normalise_key
from syncer.plan import Plan, guid_key
from syncer.state import CloudState, DesiredState
from syncer.store import read_id_map
from syncer.store.db import read_connection, write_transaction
from syncer.store.tables import changes


@dataclass(frozen=True, slots=True)
class RunInputs:
    """What the run planned from, and what it carried out."""

    desired: DesiredState
    cloud: CloudState
    planned: Plan
    """The plan of desired and Cloud state as read by this run."""
    executed: Plan
    """The plan carried out: ``planned``, or the saved plan of ``apply --plan``."""


async def remember_in_step(
    engine: AsyncEngine, firm: str, run_id: int, inputs: RunInputs, now: datetime
) -> None:
    """Write the marks of the parents this run brought (or found) in step."""
    managed = [kind for kind in CHILD_KINDS.values() if inputs.desired.children.get(kind.name)]
    if not managed:
        return
    async with read_connection(engine) as conn:
        owned = await read_id_map(conn, firm)
        journal = (
            await conn.execute(
                select(changes.c.kind, changes.c.key).where(
                    changes.c.run_id == run_id, changes.c.status == str(ChangeStatus.DONE)
                )
            )
        ).all()
    async with write_transaction(engine) as conn:
        for kind in managed:
            done = {key for name, key in journal if name == kind.name}
            unsettled = _parents(kind, _left_over(kind.name, inputs, done))
            touched = _parents(kind, done)
            read = inputs.cloud.children.get(kind.name, {})
            parents = owned.of_kind(kind.parent_kind)
            marks = {}
            for parent, rows in by_parent(kind, inputs.desired.children[kind.name]).items():
                own = parents.get(parent)
                if own is None or parent in unsettled:
                    continue
                if guid_key(own.cwguid) in read or parent in touched:
                    marks[parent] = Mark(parent, own.cwguid, digest(kind, rows), now)
            await write_marks(conn, firm, kind, marks)


def _left_over(kind: str, inputs: RunInputs, done: set[str]) -> Iterable[str]:
    """Keys of the kind's changes not done, held back, or rows not planned at all."""
    for plan in (inputs.planned, inputs.executed):
        yield from (
            c.object_key for c in plan.changes if c.kind == kind and c.object_key not in done
        )
        yield from (
            b.change.object_key for b in (*plan.skipped, *plan.blocked) if b.change.kind == kind
        )
        yield from (row.key for row in plan.invalid if row.kind == kind)


def _parents(kind: ChildKind, keys: Iterable[str]) -> set[str]:
    """Normalised parent keys of child keys (``parent|category``)."""
    return {normalise_key(kind.parent_kind, kind.split_key(key)[0]) for key in keys}
