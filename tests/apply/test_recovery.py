"""Recovery after a crash looks the open creates up concurrently, through the scheduler that
apply uses, and records the same outcomes as one lookup at a time would; a clean start writes
nothing, and changes a finished run left open are still handed back."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.journal import Entry, Journal
from syncer.apply.recovery import Recovery, recover
from syncer.clock import SystemClock
from syncer.plan.changes import Action, Change, FieldChange
from syncer.simulator import RunningSimulator
from syncer.state import Origin
from syncer.store.db import create_engine
from syncer.store.idmap import read_id_map
from syncer.store.tables import changes
from syncer.usecases import open_firm
from tests.apply.support import settings_for

pytestmark = pytest.mark.anyio

OPEN = 30


async def test_open_creates_are_looked_up_concurrently_with_the_same_results(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    """A dead run left 30 creates sent; the even ones reached Cloud. Every one is looked up,
    several at a time, and settled as one lookup at a time settles it."""
    keys = [f"C-{n:04d}" for n in range(OPEN)]
    creates = [
        Change("entities", Action.CREATE, key, fields={"Name": FieldChange(None, "x")})
        for key in keys
    ]
    engine = create_engine(migrated_database_url)
    try:
        dead = await Journal.begin(engine, simulator.firm, "apply", None, SystemClock())
        await dead.enter([Entry(change) for change in creates])
        await dead.sent(creates, {})
        for key in keys[::2]:
            simulator.control.seed("entities", {"EntityNo": key, "Name": "x"})

        async with open_firm(settings_for(simulator, migrated_database_url)) as firm:
            found = await recover(firm.engine, firm.firm, firm.client, firm.clock, max_in_flight=8)
            peak = firm.client.stats.peak_in_flight

        async with engine.connect() as conn:
            rows = (await conn.execute(select(changes.c.key, changes.c.status))).all()
            statuses = {key: status for key, status in rows}
            owned = await read_id_map(conn, simulator.firm)
    finally:
        await engine.dispose()
    assert (found.runs, found.confirmed, found.absent) == (1, OPEN // 2, OPEN // 2)
    assert statuses == {key: "done" if n % 2 == 0 else "skipped" for n, key in enumerate(keys)}
    assert {key for _, key in owned} == set(keys[::2])
    assert {own.origin for own in owned.values()} == {Origin.CREATED}
    assert 1 < peak <= 8, "lookups overlap, bounded by max_in_flight"


def read_only_engine(url: str) -> AsyncEngine:
    """An engine on ``url`` whose every write fails at once (SQLite ``query_only``, PostgreSQL
    read-only transactions)."""
    if url.startswith("sqlite"):
        engine = create_engine(url)

        def query_only(dbapi_connection: object, _record: object) -> None:
            dbapi_connection.cursor().execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]

        event.listen(engine.sync_engine, "connect", query_only)
        return engine
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})


async def test_a_clean_start_writes_nothing(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    """A finished run left nothing open: recovery finds that without writing (a worker starts
    every job with it), so it succeeds on a database that refuses every write."""
    engine = create_engine(migrated_database_url)
    read_only = read_only_engine(migrated_database_url)
    try:
        journal = await Journal.begin(engine, simulator.firm, "apply", None, SystemClock())
        await journal.close("succeeded", 0, {})
        async with open_firm(settings_for(simulator, migrated_database_url)) as firm:
            found = await recover(read_only, firm.firm, firm.client, firm.clock, max_in_flight=8)
    finally:
        await read_only.dispose()
        await engine.dispose()
    assert found == Recovery()


async def test_changes_a_finished_run_left_pending_are_handed_back(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    """No run is ``running``, yet changes are still pending (the run row was closed, its
    changes never reached): they are released to the fresh plan all the same."""
    left = [Change("entities", Action.UPDATE, f"U-{n}", remote_id=f"g{n}") for n in range(3)]
    engine = create_engine(migrated_database_url)
    try:
        journal = await Journal.begin(engine, simulator.firm, "apply", None, SystemClock())
        await journal.enter([Entry(change) for change in left])
        await journal.close("failed", 1, {})
        async with open_firm(settings_for(simulator, migrated_database_url)) as firm:
            found = await recover(firm.engine, firm.firm, firm.client, firm.clock, max_in_flight=8)
        async with engine.connect() as conn:
            statuses = set((await conn.scalars(select(changes.c.status))).all())
    finally:
        await engine.dispose()
    assert found == Recovery(released=3)
    assert statuses == {"skipped"}
