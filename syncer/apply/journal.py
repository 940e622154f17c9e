"""The change journal: intent before a request, result after it, in ``syncer_changes``.

Two rules make a killed run recoverable. A change is marked ``sent`` (committed) before its
request leaves, so a dead run leaves behind exactly the changes whose outcome nobody knows. And a
confirmed result is written in one transaction with the id-map entry it produces and the retry
index, so the journal never says ``done`` for an object the id map does not know, or the reverse.

Both rules are kept per change but written in groups (``syncer.apply.journal_writes``): the
intents and results that arrive while a transaction is being written go in the next one, with
those of every other run in the process on the same engine, each statement executed once for the
whole group. A journal's other writes (its entries, adoptions, closing) are serialised by one
lock: SQLite allows one writer at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.apply.journal_keys import journal_id, stored_key
from syncer.apply.journal_writes import RunWrite, record_effects, shared_writes
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.clock import Clock, utc_now
from syncer.plan import Change
from syncer.state import Ownership
from syncer.store.bulk import execute_many
from syncer.store.db import read_connection, write_transaction
from syncer.store.idmap import record_ownership
from syncer.store.tables import changes, runs


@dataclass(frozen=True, slots=True)
class Entry:
    """A change as it enters the journal at the start of a run."""

    change: Change
    status: ChangeStatus = ChangeStatus.PENDING
    message: str | None = None
    payload: object = None


Counts = dict[str, dict[str, dict[str, int]]]
"""kind -> action -> status -> number of changes."""


_BEGIN = insert(runs).returning(runs.c.id)
"""A run's row; the values are the parameters. The run's statements are built once: built for
each job (and each given its cache key), building them was a third of their cost (one at a
time on PostgreSQL: begin 0.74-0.88 ms -> 0.49-0.59 ms, close 0.79-0.95 ms -> 0.50-0.60 ms)."""

_COUNTS = (
    select(changes.c.kind, changes.c.action, changes.c.status, func.count())
    .where(changes.c.run_id == bindparam("b_run"))
    .group_by(changes.c.kind, changes.c.action, changes.c.status)
)

_CLOSE = update(runs).where(runs.c.id == bindparam("b_run"))
"""The run row's end; the columns set are the parameters' other names."""

_ENTER = insert(changes).returning(changes.c.change_id, changes.c.id)
"""A run's changes as they enter the journal, with the ids their rows got (in one statement on
PostgreSQL, ``store.bulk``: as many parameter sets made a statement of thousands of parameters,
and parsing it cost psycopg more CPU than the rest of the journal's writes of the run)."""


class Journal:
    """The journal of one run of one firm."""

    def __init__(self, engine: AsyncEngine, firm: str, run_id: int, clock: Clock) -> None:
        self.engine = engine
        self.firm = firm
        self.run_id = run_id
        self._clock = clock
        self._write = anyio.Lock()
        self._rows: defaultdict[str, list[int]] = defaultdict(list)
        """The journal rows of each change id of this run, updated by primary key: on SQLite an
        update by run and change id walks every row of the run (it picks the run_id index), so a
        run cost time quadratic in its size. (Two changes with one id share their rows, as an
        update by change id did.)"""
        self._writes = shared_writes(engine)
        self.failing: set[tuple[str, str]] | None = None
        """The (kind, stored key)s of the firm that may have a failure row (``enter``'s, and
        every key rejected since); ``None`` while not known: a change that goes through then
        clears its key's row, whether there is one or not."""

    @classmethod
    async def begin(
        cls, engine: AsyncEngine, firm: str, command: str, fingerprint: str | None, clock: Clock
    ) -> Journal:
        """Open a new run row (status ``running``) and a journal for it."""
        row = {
            "firm": firm,
            "command": command,
            "started_at": utc_now(clock),
            "status": "running",
            "plan_fingerprint": fingerprint,
            "counts": {},
            "requests": 0,
            "throttled": 0,
            "unauthorized": 0,
        }
        async with write_transaction(engine) as conn:
            run_id = await conn.scalar(_BEGIN, row)
        assert run_id is not None
        return cls(engine, firm, run_id, clock)

    async def enter(
        self, entries: Iterable[Entry], failing: Iterable[tuple[str, str]] | None = None
    ) -> None:
        """Record every change of the plan, with its starting status, in one transaction;
        ``failing``: the firm's keys with a failure row, as (kind, stored key), if known."""
        if failing is not None:
            self.failing = set(failing)
        now = utc_now(self._clock)
        rows = [
            {
                "run_id": self.run_id,
                "firm": self.firm,
                "change_id": journal_id(entry.change),
                "kind": entry.change.kind,
                "action": str(entry.change.action),
                "key": stored_key(entry.change.key),
                "status": str(entry.status),
                "attempts": 0,
                "remote_id": entry.change.remote_id,
                "payload": entry.payload,
                "message": entry.message,
                "updated_at": now,
            }
            for entry in entries
        ]
        if rows:
            async with self._write, write_transaction(self.engine) as conn:
                for row in await execute_many(conn, _ENTER, rows, key=()):
                    self._rows[row.change_id].append(row.id)

    async def adopt(self, adoptions: Sequence[Ownership]) -> None:
        """Record existing objects the plan matched by key as syncer's (no request is needed)."""
        if adoptions:
            async with self._write, write_transaction(self.engine) as conn:
                await record_ownership(
                    conn, self.firm, adoptions, now=self._clock.now(), run_id=self.run_id
                )

    async def sent(self, batch: Sequence[Change], payload: object) -> None:
        """Intent: these changes are about to be sent with ``payload``. Commits before returning."""
        now = utc_now(self._clock)
        rows = [
            {"b_id": row_id, "b_payload": payload, "b_now": now}
            for change in batch
            for row_id in self._rows[journal_id(change)]
        ]
        await self._writes.submit(RunWrite(self.firm, self.run_id, now, sent=rows))

    async def settle(self, results: Sequence[tuple[Change, Outcome]]) -> None:
        """Record outcomes with their id-map entries and retry-index updates, atomically."""
        now = utc_now(self._clock)
        rows = [
            {
                "b_id": row_id,
                "b_status": str(outcome.status),
                "b_message": outcome.message,
                "b_remote_id": outcome.remote.cwguid if outcome.remote else change.remote_id,
                "b_now": now,
            }
            for change, outcome in results
            for row_id in self._rows[journal_id(change)]
        ]
        if self.failing is not None:
            self.failing.update(
                (change.kind, stored_key(change.key))
                for change, outcome in results
                if outcome.status is ChangeStatus.REJECTED
            )
        write = RunWrite(
            self.firm, self.run_id, now, settled=rows, results=results, failing=self.failing
        )
        await self._writes.submit(write)

    async def abandon_pending(self, message: str) -> None:
        """The run stops: whatever was never sent is marked skipped with the reason."""
        async with self._write, write_transaction(self.engine) as conn:
            await conn.execute(
                update(changes)
                .where(changes.c.run_id == self.run_id)
                .where(changes.c.status == str(ChangeStatus.PENDING))
                .values(
                    status=str(ChangeStatus.SKIPPED),
                    message=message,
                    updated_at=utc_now(self._clock),
                )
            )

    async def counts(self) -> Counts:
        """Per kind, action and status, how many changes this run recorded."""
        result: Counts = defaultdict(lambda: defaultdict(dict))
        async with read_connection(self.engine) as conn:
            for kind, action, status, count in await conn.execute(_COUNTS, {"b_run": self.run_id}):
                result[kind][action][status] = count
        return {kind: dict(actions) for kind, actions in result.items()}

    async def close(self, status: str, exit_code: int, values: Mapping[str, Any]) -> None:
        """Finish the run row: end time, outcome and the figures for ``syncer runs``."""
        row = {"finished_at": utc_now(self._clock), "status": status, "exit_code": exit_code}
        async with self._write, write_transaction(self.engine) as conn:
            await conn.execute(_CLOSE, {"b_run": self.run_id, **values, **row})


async def settle_change(
    conn: AsyncConnection,
    *,
    firm: str,
    run_id: int,
    rows: ColumnElement[bool],
    change: Change,
    outcome: Outcome,
    clock: Clock,
) -> None:
    """One change's outcome, its id-map entry (made, or dropped for a delete) and its
    retry-index entry, in ``conn``'s transaction.

    Shared by a live run and by recovery, which settles rows a dead run left open.
    """
    now = utc_now(clock)
    remote_id = outcome.remote.cwguid if outcome.remote else change.remote_id
    await conn.execute(
        update(changes)
        .where(rows)
        .values(
            status=str(outcome.status), message=outcome.message, remote_id=remote_id, updated_at=now
        )
    )
    await record_effects(conn, [RunWrite(firm, run_id, now, results=[(change, outcome)])])
