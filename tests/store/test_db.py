"""Engines: SQLite pragmas, and concurrent writers that wait for each other instead of failing."""

from __future__ import annotations

import anyio
import pytest
from psycopg.adapt import PyFormat
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.store.db import create_engine, write_transaction
from syncer.store.tables import desired_tables

pytestmark = pytest.mark.anyio


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() > 0
    finally:
        await engine.dispose()


async def test_concurrent_read_then_write_transactions_all_commit(engine: AsyncEngine) -> None:
    """Each worker reads the count and then writes: on SQLite this needs the write lock up front."""
    groups = desired_tables["groups"]

    async def worker(number: int) -> None:
        async with write_transaction(engine) as conn:
            await conn.execute(select(func.count()).select_from(groups))
            await anyio.sleep(0.01)
            await conn.execute(groups.insert().values(name=f"g{number}"))

    async with anyio.create_task_group() as tg:
        for number in range(8):
            tg.start_soon(worker, number)

    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(groups))).scalar() == 8


async def test_a_failed_write_transaction_leaves_nothing(engine: AsyncEngine) -> None:
    groups = desired_tables["groups"]

    async def insert_then_fail() -> None:
        async with write_transaction(engine) as conn:
            await conn.execute(groups.insert().values(name="g"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await insert_then_fail()
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(groups))).scalar() == 0


async def test_postgresql_connections_send_lists_as_binary_arrays(postgres_url: str) -> None:
    """The journal's group writes send each column as one array (``store.bulk``): as text,
    psycopg quotes and escapes every element, a regular-expression substitution per quote of a
    JSON payload; binary copies the bytes. Values text arrays must escape arrive as they were."""
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            dumper = raw.driver_connection.adapters.get_dumper(list, PyFormat.AUTO)
            assert issubclass(dumper, ListBinaryDumper)
            values = ["a,b", "{x}", "\\", '"', None, "", "NULL", "é"]
            echoed = await conn.execute(text("SELECT CAST(:v AS VARCHAR[])"), {"v": values})
            assert echoed.scalar_one() == values
    finally:
        await engine.dispose()
