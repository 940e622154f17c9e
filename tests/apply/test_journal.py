"""The journal: intent before sending, outcome with its id-map and retry-index entries at once."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.backoff import BackoffIndex
from syncer.apply.journal import Entry, Journal
from syncer.apply.journal_keys import journal_id
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.clock import ManualClock, as_utc, utc_now
from syncer.plan.changes import Action, Change, FieldChange
from syncer.state import Origin, RemoteObject
from syncer.store.db import create_engine
from syncer.store.idmap import read_id_map
from syncer.store.tables import changes, failed_keys, runs

pytestmark = pytest.mark.anyio

USER = Change("users", Action.CREATE, "Ann@Example.com", fields={"Email": FieldChange(None, "x")})
ENTITY = Change("entities", Action.CREATE, "C-1", fields={"Name": FieldChange(None, "Acme")})


async def _statuses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(changes.c.change_id, changes.c.status))).all()
    return dict(rows)


async def test_a_confirmed_create_is_done_and_owned_in_one_step(engine: AsyncEngine) -> None:
    clock = ManualClock()
    journal = await Journal.begin(engine, "acme", "apply", "f" * 64, clock)
    await journal.enter([Entry(USER), Entry(ENTITY)])
    await journal.sent([USER], {"Email": "Ann@Example.com"})
    assert (await _statuses(engine))[journal_id(USER)] == "sent"
    remote = RemoteObject("GUID-1", 7, {})
    await journal.settle([(USER, Outcome(ChangeStatus.DONE, None, remote, Origin.CREATED))])
    async with engine.connect() as conn:
        owned = await read_id_map(conn, "acme")
    own = owned["users", "ann@example.com"]
    assert (own.cwguid, own.id, own.origin) == ("GUID-1", 7, Origin.CREATED)
    assert await _statuses(engine) == {journal_id(USER): "done", journal_id(ENTITY): "pending"}
    await journal.abandon_pending("run stopped")
    assert (await _statuses(engine))[journal_id(ENTITY)] == "skipped"
    assert await journal.counts() == {
        "users": {"create": {"done": 1}},
        "entities": {"create": {"skipped": 1}},
    }
    await journal.close("succeeded", 0, {"requests": 3, "counts": await journal.counts()})
    async with engine.connect() as conn:
        run = (await conn.execute(select(runs))).one()
    assert (run.status, run.exit_code, run.requests) == ("succeeded", 0, 3)
    assert run.finished_at is not None


async def test_a_rejected_key_waits_unless_its_values_change(engine: AsyncEngine) -> None:
    clock = ManualClock()
    body = {"Name": "Acme"}
    journal = await Journal.begin(engine, "acme", "apply", None, clock)
    await journal.enter([Entry(ENTITY, payload=body)])
    await journal.sent([ENTITY], body)
    await journal.settle([(ENTITY, Outcome(ChangeStatus.REJECTED, "Name too long"))])
    async with engine.connect() as conn:
        row = (await conn.execute(select(failed_keys))).one()
    assert row.failures == 1
    assert as_utc(row.next_attempt_at) == utc_now(clock) + timedelta(hours=6)

    index = await BackoffIndex.load(engine, "acme", utc_now(clock))
    deferral = index.deferral(ENTITY, body)
    assert deferral is not None
    assert deferral.last_error == "Name too long"
    assert index.deferral(ENTITY, {"Name": "Acme Ltd"}) is None

    clock.advance(6 * 3600 + 1)
    index = await BackoffIndex.load(engine, "acme", utc_now(clock))
    assert index.deferral(ENTITY, body) is None
    assert index.failing == {("entities", "C-1")}  # due again, and its row still there

    again = await Journal.begin(engine, "acme", "apply", None, clock)
    await again.enter([Entry(ENTITY, payload=body)], failing=index.failing)
    await again.sent([ENTITY], body)
    await again.settle([(ENTITY, Outcome(ChangeStatus.DONE))])
    async with engine.connect() as conn:
        assert (await conn.execute(select(failed_keys))).all() == []


async def test_changes_that_go_through_clear_only_failures_there_may_be(
    engine: AsyncEngine,
) -> None:
    """A run knows its firm's failure rows from the start (``BackoffIndex.failing``): where
    there are none, as nearly always, every group of changes that went through sent a
    ``DELETE`` of failures for nothing. It sends none now, and still clears a key rejected
    earlier in the same run once its change goes through."""
    deletes: list[str] = []

    def capture(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if sql.lstrip().upper().startswith("DELETE FROM SYNCER_FAILED_KEYS"):
            deletes.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    clock = ManualClock()
    journal = await Journal.begin(engine, "acme", "apply", None, clock)
    index = await BackoffIndex.load(engine, "acme", utc_now(clock))
    assert index.failing == frozenset()
    await journal.enter([Entry(USER), Entry(ENTITY)], failing=index.failing)
    await journal.settle([(USER, Outcome(ChangeStatus.DONE))])
    assert deletes == []
    await journal.settle([(ENTITY, Outcome(ChangeStatus.REJECTED, "Name too long"))])
    async with engine.connect() as conn:
        assert len((await conn.execute(select(failed_keys))).all()) == 1
    await journal.settle([(ENTITY, Outcome(ChangeStatus.DONE))])
    assert len(deletes) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(select(failed_keys))).all() == []


async def test_intents_and_results_find_their_rows_by_primary_key(migrated_sqlite_url: str) -> None:
    """On SQLite an update by (run, change id) walks every row of the run (its planner takes the
    run_id index), so a run's journal cost grew with the square of its size. Every update of a
    journal row that ``sent`` and ``settle`` issue must be a primary-key search instead."""
    engine = create_engine(migrated_sqlite_url)
    updates: list[tuple[str, tuple[object, ...]]] = []

    def capture(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if sql.lstrip().upper().startswith("UPDATE SYNCER_CHANGES"):
            many = isinstance(params, list)
            updates.append((sql, tuple(params[0] if many else params)))  # type: ignore[index,arg-type]

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        clock = ManualClock()
        journal = await Journal.begin(engine, "acme", "apply", None, clock)
        await journal.enter([Entry(USER), Entry(ENTITY)])
        await journal.sent([USER, ENTITY], {"Email": "Ann@Example.com"})
        remote = RemoteObject("GUID-1", 7, {})
        await journal.settle([(USER, Outcome(ChangeStatus.DONE, None, remote, Origin.CREATED))])
        await journal.settle([(ENTITY, Outcome(ChangeStatus.REJECTED, "Name too long"))])
    finally:
        await engine.dispose()
    assert len(updates) == 3
    path = make_url(migrated_sqlite_url).database
    assert path is not None
    with closing(sqlite3.connect(path)) as plain:
        for sql, params in updates:
            plan = " ".join(row[-1] for row in plain.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "INTEGER PRIMARY KEY" in plan, plan
