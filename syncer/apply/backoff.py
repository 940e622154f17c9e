"""Back-off for rejected rows: a key the API keeps rejecting is retried with growing delay.

A rejected row is usually a data problem (a name too long, a duplicate e-mail) that only a person
can fix; resending it every night would spend requests and fill logs. So each rejection pushes the
key's next attempt out: 6 h, 12 h, 24 h, then daily. Because every run re-reads the desired state
before planning, a key whose desired row was edited since its last rejection (a different request
body) is retried at once instead of waiting out its delay.

Keys are stored as the journal stores them (``journal_keys.stored_key``): the index holds the
stored texts it loaded, and a change is looked up by its own key stored the same way, so an
assignment's ends are never cut back out of a text and rows an older version wrote still match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.apply.journal_keys import stored_key
from syncer.clock import as_utc
from syncer.plan import Change
from syncer.store.bulk import execute_many
from syncer.store.db import read_connection
from syncer.store.tables import changes, failed_keys

SCHEDULE: tuple[timedelta, ...] = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
"""Delay after the 1st, 2nd and 3rd consecutive failure; every later one waits the last step."""


def next_delay(failures: int) -> timedelta:
    """The delay after ``failures`` consecutive failures (1-based)."""
    return SCHEDULE[min(max(failures, 1), len(SCHEDULE)) - 1]


@dataclass(frozen=True, slots=True)
class Deferral:
    """A key not yet due, with the body that was last rejected for it."""

    next_attempt_at: datetime
    failures: int
    last_error: str | None
    last_payload: object


class BackoffIndex:
    """The keys of one firm that are not yet due again, loaded once at the start of a run;
    ``deferred`` is filed by (kind, stored key). ``failing`` is every key with a failure row,
    due or not: only those have a row for a change that goes through to clear."""

    def __init__(
        self,
        deferred: Mapping[tuple[str, str], Deferral],
        failing: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self._deferred = deferred
        self.failing = failing

    @classmethod
    async def load(cls, engine: AsyncEngine, firm: str, now: datetime) -> BackoffIndex:
        latest = (
            select(
                changes.c.kind,
                changes.c.key,
                func.max(changes.c.id).label("last_id"),
            )
            .where(changes.c.firm == firm, changes.c.status == "rejected")
            .group_by(changes.c.kind, changes.c.key)
            .subquery()
        )
        query = (
            select(failed_keys, changes.c.payload)
            .select_from(failed_keys)
            .outerjoin(
                latest,
                and_(latest.c.kind == failed_keys.c.kind, latest.c.key == failed_keys.c.key),
            )
            .outerjoin(changes, changes.c.id == latest.c.last_id)
            .where(failed_keys.c.firm == firm)
        )
        async with read_connection(engine) as conn:
            rows = (await conn.execute(query)).all()
        deferred = {
            (row.kind, row.key): Deferral(
                as_utc(row.next_attempt_at), row.failures, row.last_error, row.payload
            )
            for row in rows
            if as_utc(row.next_attempt_at) > now
        }
        return cls(deferred, frozenset((row.kind, row.key) for row in rows))

    def deferral(self, change: Change, payload: object) -> Deferral | None:
        """The deferral holding ``change`` back, or None when it may be sent now.

        ``payload`` is the body the change would send; ``None`` (assignments, whose only values
        are their two keys) compares nothing, so the key alone decides.
        """
        found = self._deferred.get((change.kind, stored_key(change.key)))
        if found is None or (payload is not None and found.last_payload != payload):
            return None
        return found


async def record_failure(
    conn: AsyncConnection, firm: str, change: Change, message: str | None, now: datetime
) -> None:
    """Count one more consecutive failure of the change's key and push its next attempt out."""
    where = (
        failed_keys.c.firm == firm,
        failed_keys.c.kind == change.kind,
        failed_keys.c.key == stored_key(change.key),
    )
    failures = await conn.scalar(select(failed_keys.c.failures).where(*where))
    count = (failures or 0) + 1
    values = {
        "failures": count,
        "last_error": message,
        "last_failed_at": now,
        "next_attempt_at": now + next_delay(count),
    }
    if failures is None:
        await conn.execute(
            insert(failed_keys).values(
                firm=firm, kind=change.kind, key=stored_key(change.key), **values
            )
        )
    else:
        await conn.execute(update(failed_keys).where(*where).values(**values))


_CLEAR = delete(failed_keys).where(
    failed_keys.c.firm == bindparam("b_firm"),
    failed_keys.c.kind == bindparam("b_kind"),
    failed_keys.c.key == bindparam("b_key"),
)
"""Built once: a run clears the keys of every change that went through."""


async def clear_failures(conn: AsyncConnection, done: Sequence[tuple[str, Change]]) -> None:
    """These keys, as (firm, change), went through: forget their failures (one statement for
    all of them, whatever their firms; none for none)."""
    await execute_many(
        conn,
        _CLEAR,
        [
            {"b_firm": firm, "b_kind": change.kind, "b_key": stored_key(change.key)}
            for firm, change in done
        ],
        key=("b_firm", "b_kind", "b_key"),
    )
