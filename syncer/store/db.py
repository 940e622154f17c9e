"""Database engines, transactions and schema migrations.

Every part of syncer opens the database through ``create_engine`` so SQLite gets the same pragmas
everywhere: foreign keys enforced, WAL so readers never block the writer, a busy timeout so
concurrent workers wait for the write lock instead of failing, and transactions that really begin
where SQLAlchemy says they do (the sqlite3 module otherwise delays ``BEGIN`` to the first write,
which makes a read-then-write transaction non-atomic).

Migrations are ``syncer.store.schema``'s job, apart, so that a command that only reads and
writes rows (``plan``, ``apply``, ``runs``) never loads Alembic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from syncer.errors import SyncerError

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another one's write lock before giving up."""
_IMMEDIATE = "syncer_sqlite_immediate"


class DatabaseError(SyncerError):
    """The database refused or failed; the message is the driver's first line, no URL, no SQL."""


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; on SQLite with syncer's pragmas and explicit ``BEGIN``.

    ``foreign_keys=False`` exists for migrations only: batch mode rebuilds a SQLite table by
    copying it, which enforced foreign keys would refuse.
    """
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _require_folder(engine.url.database)
        _configure_sqlite(engine, foreign_keys=foreign_keys)
    elif engine.dialect.driver == "psycopg":
        _binary_arrays(engine)
    return engine


def _binary_arrays(engine: AsyncEngine) -> None:
    """Python lists go to PostgreSQL as binary arrays, not as text.

    The journal's group writes and its entries send each column of their rows as one array
    (``store.bulk``). psycopg's text format quotes every element and escapes it with a regular
    expression, a substitution per quote of a JSON payload: dumping the arrays took 6.5% of a
    worker's CPU carrying 50 firms of 200 creates (py-spy), where the binary format copies each
    element's bytes (six arrays of 60 rows: 1.3-1.4 ms as text, 0.06-0.08 ms binary). The
    statements cast every array to its column's type, so the element types psycopg picks
    (text, int8, json...) convert on the server. Only lists change: syncer passes no other list
    parameter, and procrastinate's connections are its own.

    psycopg's module is imported here, for a PostgreSQL engine only: a process on SQLite never
    loads psycopg (a tenth of a second of every command's start-up).
    """
    from psycopg.types.array import ListBinaryDumper  # noqa: PLC0415 (see the docstring)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.driver_connection.adapters.register_dumper(list, ListBinaryDumper)


def _require_folder(database: str | None) -> None:
    """Say plainly when a SQLite file cannot be created because its folder is missing.

    (Found at connect time instead, the error would also leave aiosqlite's worker thread
    complaining about a closed event loop.)
    """
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().absolute().parent
        if not folder.is_dir():
            raise DatabaseError(f"the folder of the SQLite database does not exist: {folder}")


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN instead of the driver's delayed one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """ORM-style sessions over ``engine`` (objects stay usable after commit)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads that need no transaction around them: on PostgreSQL each
    statement is its own (autocommit), so a read is one round trip rather than three.

    psycopg opens a transaction with a ``BEGIN`` of its own before the first statement, and the
    connection's return to the pool ends it with a ``ROLLBACK``: two round trips more for each
    of a plan's reads (seven a run), and each ``ROLLBACK`` drops the statements psycopg had
    prepared on that connection. Under PostgreSQL's default isolation (read committed) every
    statement sees its own snapshot anyway, so a transaction gave several reads nothing in
    common. SQLite keeps its explicit ``BEGIN`` (in-process, and WAL readers see one snapshot
    for the transaction).
    """
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that intends to write: committed on success, rolled back on any error.

    On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``): a transaction that reads
    and then writes would otherwise fail with "database is locked" at its first write when
    another worker wrote in between, without waiting for the busy timeout.
    """
    async with engine.connect() as conn:
        await conn.execution_options(**{_IMMEDIATE: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def database_errors() -> AsyncIterator[None]:
    """Turn a driver error into a one-line ``DatabaseError`` (exit 1); migrations say their own
    (``syncer.store.schema``)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database error: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    """The useful part of a database error: the driver's first line, without the SQL echo."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
