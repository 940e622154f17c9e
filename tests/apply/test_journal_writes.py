"""The journals of one process on one engine share their group commit, firm by firm intact."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.journal import Entry, Journal
from syncer.apply.journal_writes import RunWrite, shared_writes
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.clock import ManualClock, utc_now
from syncer.plan.changes import Action, Change, FieldChange
from syncer.state import Origin, RemoteObject
from syncer.store import SharedEngines, journal_writes
from syncer.store.db import create_engine
from syncer.store.engines import PARALLEL_WRITES
from syncer.store.idmap import read_id_map
from syncer.store.tables import changes

pytestmark = pytest.mark.anyio

FIRMS = ("acme", "globex", "initech")


def _create(n: int) -> Change:
    return Change("entities", Action.CREATE, f"C-{n}", fields={"Name": FieldChange(None, "x")})


async def _journal(engine: AsyncEngine, firm: str, clock: ManualClock) -> Journal:
    journal = await Journal.begin(engine, firm, "apply", None, clock)
    await journal.enter([Entry(_create(n)) for n in range(2)])
    return journal


async def _rows(engine: AsyncEngine) -> dict[tuple[str, str], tuple[str, str | None]]:
    query = select(changes.c.firm, changes.c.key, changes.c.status, changes.c.remote_id)
    async with engine.connect() as conn:
        return {(r.firm, r.key): (r.status, r.remote_id) for r in await conn.execute(query)}


async def test_the_results_of_several_firms_share_transactions_and_land_in_their_own_rows(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock()
    journals = [await _journal(engine, firm, clock) for firm in FIRMS]
    before = shared_writes(engine).transactions

    async def one_change(journal: Journal, n: int) -> None:
        change = _create(n)
        await journal.sent([change], {"Name": "x"})
        remote = RemoteObject(f"{journal.firm}-guid-{n}", n, {})
        await journal.settle([(change, Outcome(ChangeStatus.DONE, None, remote, Origin.CREATED))])

    async with anyio.create_task_group() as tg:
        for journal in journals:
            for n in range(2):
                tg.start_soon(one_change, journal, n)

    assert shared_writes(engine).transactions - before < 2 * 2 * len(FIRMS)
    rows = await _rows(engine)
    assert rows == {
        (firm, f"C-{n}"): ("done", f"{firm}-guid-{n}") for firm in FIRMS for n in range(2)
    }
    async with engine.connect() as conn:
        for firm in FIRMS:
            owned = await read_id_map(conn, firm)
            assert {key: own.cwguid for (_, key), own in owned.items()} == {
                "C-0": f"{firm}-guid-0",
                "C-1": f"{firm}-guid-1",
            }


async def test_a_failing_write_in_a_group_fails_its_own_caller_only(engine: AsyncEngine) -> None:
    """The group is written again item by item: the other firms' results still land.

    Four firms' results go first, one transaction each where four are written at once (a
    worker's shared engine on PostgreSQL, the test below) and the first of them alone where one
    is (SQLite, and ``syncer apply``'s own engine), so the broken write and the next firm's
    result wait and share a group either way."""
    clock = ManualClock()
    acme = await _journal(engine, "acme", clock)
    others = [await _journal(engine, f"firm{n}", clock) for n in range(5)]
    for journal in [acme, *others]:
        await journal.sent([_create(0)], {"Name": "x"})
    writes = shared_writes(engine)
    broken = RunWrite(
        "acme", acme.run_id, utc_now(clock), settled=[{"b_id": 1, "b_now": "not a time"}]
    )
    failures: list[str] = []

    async def submit_broken() -> None:
        try:
            await writes.submit(broken)
        except Exception:
            failures.append("acme")

    done = Outcome(ChangeStatus.DONE, None, RemoteObject("g", 1, {}), Origin.CREATED)
    before = writes.transactions
    async with anyio.create_task_group() as tg:
        for journal in others[:4]:
            tg.start_soon(journal.settle, [(_create(0), done)])
        tg.start_soon(submit_broken)
        tg.start_soon(others[4].settle, [(_create(0), done)])

    assert failures == ["acme"]
    assert writes.transactions - before > len(others) + 1  # a failed group, written again
    rows = await _rows(engine)
    assert all(rows[journal.firm, "C-0"] == ("done", "g") for journal in others)
    assert rows["acme", "C-0"] == ("sent", None)


async def test_on_a_worker_s_shared_engine_a_failing_write_fails_its_own_caller_only(
    migrated_database_url: str,
) -> None:
    """The same with the transactions a worker's engine writes at once (``JOURNAL_WRITES``):
    four on PostgreSQL, one on SQLite, where ``syncer apply``'s own engine writes one."""
    shared = SharedEngines(4)
    try:
        engine = shared.get(migrated_database_url).engine
        parallel = engine.dialect.name == "postgresql"
        assert journal_writes(engine) == (PARALLEL_WRITES if parallel else 1)
        await test_a_failing_write_in_a_group_fails_its_own_caller_only(engine)
    finally:
        await shared.dispose()
    own = create_engine(migrated_database_url)
    try:
        assert journal_writes(own) == 1
    finally:
        await own.dispose()
