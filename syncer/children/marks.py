"""``syncer_child_marks``: per parent, the desired children last seen in step with Cloud.

A mark holds the parent's CWGuid, a digest of its desired child rows and when Cloud was last
read (or written) for them. It is written only by ``apply``, after a run in which every change
to the parent's children went through; ``plan`` only reads marks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from syncer.model import ChildKind, normalise_key
from syncer.state import DesiredChild
from syncer.store.tables import child_marks
from syncer.store.upsert import upsert
from syncer.value_rules import normalise


@dataclass(frozen=True, slots=True)
class Mark:
    parent_key: str
    """The parent's normalised natural key."""
    parent_cwguid: str
    digest: str
    checked_at: datetime


def by_parent(kind: ChildKind, rows: Iterable[DesiredChild]) -> dict[str, list[DesiredChild]]:
    """Desired children grouped by their parent's normalised key."""
    grouped: dict[str, list[DesiredChild]] = {}
    for row in rows:
        grouped.setdefault(normalise_key(kind.parent_kind, row.parent), []).append(row)
    return grouped


def digest(kind: ChildKind, rows: Iterable[DesiredChild]) -> str:
    """A hash of one parent's desired children as the planner compares them (category folded,
    values normalised), independent of row order."""
    canonical = sorted(
        [
            normalise(row.category, True),
            *(
                normalise(row.values.get(spec.column), spec.case_insensitive)
                for spec in kind.fields
            ),
        ]
        for row in rows
    )
    return hashlib.sha256(orjson.dumps(canonical)).hexdigest()


async def read_marks(conn: AsyncConnection, firm: str, kind: ChildKind) -> dict[str, Mark]:
    result = await conn.execute(
        select(
            child_marks.c.parent_key,
            child_marks.c.parent_cwguid,
            child_marks.c.digest,
            child_marks.c.checked_at,
        ).where(child_marks.c.firm == firm, child_marks.c.kind == kind.name)
    )
    return {row.parent_key: Mark(*row) for row in result}


async def write_marks(
    conn: AsyncConnection, firm: str, kind: ChildKind, marks: Mapping[str, Mark]
) -> None:
    rows = [
        {
            "firm": firm,
            "kind": kind.name,
            "parent_key": mark.parent_key,
            "parent_cwguid": mark.parent_cwguid,
            "digest": mark.digest,
            "checked_at": mark.checked_at,
        }
        for mark in marks.values()
    ]
    if rows:
        await upsert(
            conn,
            child_marks,
            rows,
            conflict=("firm", "kind", "parent_key"),
            update=("parent_cwguid", "digest", "checked_at"),
        )
