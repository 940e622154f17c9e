"""Insert-or-update in one statement, on SQLite and PostgreSQL alike.

Both dialects spell it ``INSERT ... ON CONFLICT (target) DO UPDATE``, but SQLAlchemy exposes it
through a dialect-specific ``insert``; this picks the right one so callers stay dialect-free.
The conflict target may be expressions (``lower(email)``) matching a unique index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from syncer.store.bulk import execute_many

_INSERTS: Mapping[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


async def upsert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    *,
    conflict: Sequence[ColumnElement[Any] | str],
    update: Sequence[str],
    merge: Mapping[str, Callable[[Any], ColumnElement[Any]]] | None = None,
) -> None:
    """Insert ``rows``; where one collides on ``conflict``, overwrite its ``update`` columns.

    ``merge`` gives, per column, an expression of ``excluded`` (the row offered) and the stored
    row's columns to set instead, for a value that depends on what was stored. All rows must have
    the same columns. With nothing to update a collision leaves the stored row as it is.

    With the conflict target named by columns, the rows go in one statement on PostgreSQL
    (``store.bulk``); with expressions (``lower(email)``) two rows may collide without sharing
    their values, which one statement could not apply one after the other, so each row is its
    own parameter set, as before.
    """
    if not rows:
        return
    merged = merge or {}
    shape = (
        conn.dialect.name,
        table.name,
        tuple(str(element) for element in conflict),
        tuple(update),
        tuple(sorted(merged.items(), key=lambda item: item[0])),
    )
    statement = _BUILT.get(shape)
    if statement is None:
        statement = _BUILT[shape] = _statement(conn.dialect.name, table, conflict, update, merged)
    if all(isinstance(element, str) for element in conflict):
        await execute_many(conn, statement, rows, key=[str(element) for element in conflict])
    else:
        await conn.execute(statement, list(rows))


_BUILT: dict[tuple[object, ...], Any] = {}
"""Statements by call shape, built once: building one (``excluded`` proxies every column of the
table) cost more CPU than running it for the one-row writes of a slow run. Keyed by text, not by
the expressions themselves, whose ``==`` builds SQL instead of comparing; the merge functions
themselves (compared by identity) are in the key, not their ``id``: a key holds its function
alive, so a later function can never reuse its ``id`` and be handed another's statement."""


def _statement(
    dialect: str,
    table: Table,
    conflict: Sequence[ColumnElement[Any] | str],
    update: Sequence[str],
    merge: Mapping[str, Callable[[Any], ColumnElement[Any]]],
) -> Any:
    try:
        insert = _INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(f"upsert is not supported on {dialect}") from None
    stmt = insert(table)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=list(conflict))
    return stmt.on_conflict_do_update(
        index_elements=list(conflict),
        set_={
            column: merge[column](stmt.excluded) if column in merge else stmt.excluded[column]
            for column in update
        },
    )
