"""``store.bulk``: one statement over arrays writes exactly what ``executemany`` writes.

Each case starts from the same rows twice, in a transaction rolled back afterwards: once written
with ``executemany`` (``conn.execute(statement, rows)``), once with ``execute_many``, and what the
table holds afterwards (or the error raised) must be the same, on SQLite and PostgreSQL. Each case
has rounds of at least ``ARRAYS_FROM`` sets (arrays on PostgreSQL, which the test checks) and a
round shorter than that (``executemany`` there too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import UpdateBase

from syncer.apply.backoff import clear_failures
from syncer.apply.journal_writes import MARK_SENT, ROW, SETTLE
from syncer.plan.changes import Action, Change
from syncer.store.bulk import execute_many
from syncer.store.idmap import forget, upsert_ownership
from syncer.store.tables import changes, failed_keys, id_map, runs

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)

Write = Callable[[AsyncConnection], Awaitable[None]]


async def _setup(conn: AsyncConnection) -> None:
    """A run with six journal rows (ids 101-106), two id-map entries and two failed keys, ids
    fixed (a sequence does not roll back, so both writes see the same ids) and clear of the ids
    a sequence hands out (from 1)."""
    await conn.execute(
        insert(runs).values(
            id=7, firm="f", command="apply", started_at=T0, status="running", counts={}
        )
    )
    await conn.execute(
        insert(changes),
        [
            {
                "id": 100 + n,
                "run_id": 7,
                "firm": "f",
                "change_id": f"c{n}",
                "kind": "entities",
                "action": "create",
                "key": f"K{n}",
                "status": "pending",
                "attempts": 0,
                "updated_at": T0,
            }
            for n in range(1, 7)
        ],
    )
    await conn.execute(
        insert(id_map),
        [
            {"firm": "f", "kind": "entities", "key": key, "cwguid": guid, "origin": "adopted"}
            | {"updated_at": T0}
            for key, guid in (("K1", "g-1"), ("K2", "g-2"))
        ],
    )
    await conn.execute(
        insert(failed_keys),
        [
            {"firm": "f", "kind": "entities", "key": key, "failures": 1}
            | {"last_failed_at": T0, "next_attempt_at": T1}
            for key in ("K1", "K2")
        ],
    )


async def _tables(conn: AsyncConnection) -> list[Sequence[Any]]:
    """Every row this module writes, in a fixed order; JSON null told apart from SQL NULL."""
    read = [
        select(changes, changes.c.payload.is_(None)).order_by(changes.c.id),
        select(id_map).order_by(id_map.c.key),
        select(failed_keys).order_by(failed_keys.c.key),
    ]
    return [tuple(row) for query in read for row in await conn.execute(query)]


JOURNAL = 101, 102, 103, 104, 105, 106
"""The ids of the journal rows ``_setup`` writes."""


async def _after(
    engine: AsyncEngine, write: Write, *, arrays: bool = False
) -> list[Sequence[Any]] | str:
    """The tables after ``write`` on the set-up rows (or the error's class), rolled back;
    ``arrays``: the write must have sent arrays on PostgreSQL (and cannot have on SQLite)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    try:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        return await _rolled_back(engine, write)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        if arrays:
            postgresql = engine.dialect.name == "postgresql"
            assert any("unnest" in statement for statement in sent) is postgresql


async def _rolled_back(engine: AsyncEngine, write: Write) -> list[Sequence[Any]] | str:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            await _setup(conn)
            try:
                async with conn.begin_nested():
                    await write(conn)
            except DBAPIError as exc:
                return type(exc.orig).__name__
            return await _tables(conn)
        finally:
            await transaction.rollback()


async def _same_as_executemany(
    engine: AsyncEngine, statement: UpdateBase, rows: list[dict[str, Any]], key: Sequence[str]
) -> list[Sequence[Any]] | str:
    async def plain(conn: AsyncConnection) -> None:
        await conn.execute(statement, rows)

    async def bulk(conn: AsyncConnection) -> None:
        await execute_many(conn, statement, rows, key=key)

    expected = await _after(engine, plain)
    assert await _after(engine, bulk, arrays=True) == expected
    return expected


async def test_journal_updates_sharing_a_row_apply_in_order(engine: AsyncEngine) -> None:
    """Rounds of six, four and one sets."""
    payloads: list[object] = [{"Name": "a"}, None, ["second"], "text", 3.5, {"n": None}]
    sent = [
        {"b_id": n, "b_payload": p, "b_now": T1} for n, p in zip(JOURNAL, payloads, strict=True)
    ]
    sent += [{"b_id": n, "b_payload": n, "b_now": T0} for n in JOURNAL[:4]]
    sent += [{"b_id": 101, "b_payload": "third", "b_now": T1}]
    tables = await _same_as_executemany(engine, MARK_SENT, sent, ROW)
    assert not isinstance(tables, str)
    # id, attempts, payload, payload IS NULL (a JSON null is not)
    assert [(row[0], row[8], row[10], row[13]) for row in tables[:6]] == [
        (101, 3, "third", False),
        (102, 2, 102, False),
        (103, 2, 103, False),
        (104, 2, 104, False),
        (105, 1, 3.5, False),
        (106, 1, {"n": None}, False),
    ]
    settled = [
        {"b_id": n, "b_status": status, "b_message": message, "b_remote_id": remote, "b_now": T1}
        for n, status, message, remote in (
            (102, "rejected", "too long", None),
            (103, "rejected", None, None),
            (104, "done", "", "g-4"),
            (105, "done", None, "g-5"),
            (102, "done", None, "g-2"),
            (101, "failed", "ü" * 3, "g-1"),
        )
    ]
    await _same_as_executemany(engine, SETTLE, settled, ROW)


async def test_json_lists_first_stay_one_value_each(engine: AsyncEngine) -> None:
    """A JSON list first in its array is one value, not a dimension of the array: taken for
    one, a list's items became values of their own, and unnest gave them to the wrong rows."""
    payloads: list[object] = [[1, 2], [3, 4], [{"Name": "a"}], [5, 6], {"n": [7]}, []]
    sent = [
        {"b_id": n, "b_payload": p, "b_now": T1} for n, p in zip(JOURNAL, payloads, strict=True)
    ]
    tables = await _same_as_executemany(engine, MARK_SENT, sent, ROW)
    assert not isinstance(tables, str)
    assert [row[10] for row in tables[:6]] == payloads


async def test_id_map_upserts_sharing_a_key_keep_the_first_origin_as_one_by_one(
    engine: AsyncEngine,
) -> None:
    rows = [
        {"firm": "f", "kind": "entities", "key": key, "cwguid": guid, "remote_num_id": num}
        | {"origin": origin, "run_id": 7, "updated_at": T1}
        for key, guid, num, origin in (
            ("K1", "G-1", 1, "created"),  # the same object: stays adopted
            ("K3", "g-3", 3, "created"),
            ("K4", "g-4", 4, "created"),
            ("K5", "g-5", 5, "created"),
            ("K3", "g-6", None, "adopted"),  # another object: takes the origin given
            ("K4", "g-7", 7, "created"),
            ("K5", "g-8", 8, "created"),
            ("K2", "g-9", 9, "created"),
            ("K1", "g-1", 1, "adopted"),
            ("K3", "G-6", 6, "created"),  # the same again: stays adopted
        )
    ]

    async def plain(conn: AsyncConnection) -> None:
        for row in rows:
            await upsert_ownership(conn, [row])

    async def bulk(conn: AsyncConnection) -> None:
        await upsert_ownership(conn, rows)

    expected = await _after(engine, plain)
    assert await _after(engine, bulk, arrays=True) == expected
    assert [(row[2], row[3], row[5]) for row in expected[6:11]] == [
        ("K1", "g-1", "adopted"),
        ("K2", "g-9", "created"),
        ("K3", "G-6", "adopted"),
        ("K4", "g-7", "created"),
        ("K5", "g-8", "created"),
    ]


async def test_deletes_by_key_remove_what_executemany_removes(engine: AsyncEngine) -> None:
    keys = ("K1", "K9", "K8", "K7", "K1", "other")
    done = [("f", Change("entities", Action.CREATE, key)) for key in keys]
    forgotten = ["K2", "X1", "X2", "X3", "K2"]

    async def plain(conn: AsyncConnection) -> None:
        for firm, change in done:
            await clear_failures(conn, [(firm, change)])
        for key in forgotten:
            await forget(conn, "f", "entities", [key])

    async def bulk(conn: AsyncConnection) -> None:
        await clear_failures(conn, done)
        await forget(conn, "f", "entities", forgotten)

    expected = await _after(engine, plain)
    assert await _after(engine, bulk, arrays=True) == expected
    assert [row[2] for row in expected[6:]] == ["K1", "K2"]  # id map K1; failed key K2


async def test_a_value_too_long_for_its_column_fails_as_executemany_fails(
    engine: AsyncEngine,
) -> None:
    """Arrays carry no length (a cast to ``VARCHAR(n)[]`` would cut the value silently)."""
    statuses = ["done", "done", "x" * 21, "done"]  # status is VARCHAR(20)
    rows = [
        {"b_id": n, "b_status": status, "b_message": None, "b_remote_id": None, "b_now": T1}
        for n, status in zip(JOURNAL[:4], statuses, strict=True)
    ]
    await _same_as_executemany(engine, SETTLE, rows, ROW)


ENTER = insert(changes).returning(changes.c.change_id, changes.c.id)
"""As a run's changes enter the journal (``Journal.enter``)."""


async def test_inserts_returning_ids_enter_what_executemany_enters(engine: AsyncEngine) -> None:
    """Ids come from a sequence that a rollback does not rewind: compared by the rows they
    name, and what comes back names the rows as stored."""
    entered = [
        {"run_id": 7, "firm": "f", "change_id": change_id, "kind": "entities", "key": key}
        | {"action": "create", "status": status, "remote_id": None, "payload": payload}
        | {"message": None, "updated_at": T1}
        for change_id, key, status, payload in (
            ("n1", "N1", "pending", {"Name": "a"}),
            ("n2", "N2", "skipped", None),
            ("n3", "N3", "pending", "text"),
            ("n1", "N1", "pending", [1]),  # two changes with one id: two rows
        )
    ]
    returned: dict[str, list[tuple[str, int]]] = {}

    def written(name: str, insert_rows: Callable[[AsyncConnection], Awaitable[Any]]) -> Write:
        async def write(conn: AsyncConnection) -> None:
            rows = await insert_rows(conn)
            returned[name] = sorted((row.change_id, row.id) for row in rows)

        return write

    plain = written("plain", lambda conn: conn.execute(ENTER, entered))
    bulk = written("bulk", lambda conn: execute_many(conn, ENTER, entered, key=()))

    def without_ids(tables: list[Sequence[Any]] | str) -> list[Sequence[Any]]:
        assert not isinstance(tables, str)
        journal, others = tables[:10], tables[10:]
        entered = {(row[3], row[0]) for row in journal if row[0] not in JOURNAL}
        assert set(returned.popitem()[1]) == entered
        return sorted((row[1:] for row in journal), key=repr) + others

    bulk_tables = without_ids(await _after(engine, bulk, arrays=True))
    assert bulk_tables == without_ids(await _after(engine, plain))


async def test_no_rows_is_no_statement(engine: AsyncEngine) -> None:
    executed: list[str] = []

    def count(*args: Any) -> None:
        executed.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    async with engine.connect() as conn:
        await execute_many(conn, MARK_SENT, [], key=ROW)
        await upsert_ownership(conn, [])
    assert executed == []
