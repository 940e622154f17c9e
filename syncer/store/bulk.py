"""N parameter sets of one statement as one statement: ``unnest`` of arrays on PostgreSQL.

The journal writes each kind of row of a group commit with one statement and many parameter
sets. SQLite's ``executemany`` runs them in-process, cheaply; psycopg's pipelines them, but still
adapts every parameter set apart and has the server execute each one, and a multi-row INSERT
(SQLAlchemy's "insertmanyvalues") is a statement of thousands of placeholders that psycopg parses
anew each time: psycopg and SQLAlchemy took about a quarter of an open-bucket apply's CPU on
PostgreSQL (cProfile), a tenth with this and one group at a time (``store.engines``). Here the
parameter sets become one array per parameter, and the statement reads its rows from ``unnest``
of those arrays (an ``UPDATE ... FROM``, a ``DELETE ... USING``, an ``INSERT ... SELECT``): one
statement, one round trip, one plan, whatever the number of rows.

One statement touches a row once (PostgreSQL refuses an ``ON CONFLICT`` row twice and updates a
row an ``UPDATE ... FROM`` matches twice only once), whereas ``executemany`` applies parameter
sets in order. So parameter sets sharing a ``key`` (what names the row they write) go in rounds:
the n-th set of each key in the n-th statement, and the statements in order, which writes exactly
what ``executemany`` would. A round of fewer than ``ARRAYS_FROM`` sets goes by ``executemany``:
arrays cost more than they save for a set or two (a firm paced at 20 requests a second writes
its changes one at a time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Insert, Row, String, Table, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import NullType, TypeEngine

Rows = Sequence[Mapping[str, Any]]

ARRAYS_FROM = 4
"""Parameter sets from which arrays cost less CPU than ``executemany`` (measured with psycopg
3.3 and text arrays: one set 230-280 µs by ``executemany``, 320-390 µs as arrays; four about
even; sixteen 660-820 against 440-650; two hundred 3.3-4.9 ms against 2.2-2.8 ms. With binary
arrays (``store.db``), a journal intent: one set 190-215 µs against 245-320, three or four
about even, sixteen 470-545 against 280-360; so still four)."""


async def execute_many(
    conn: AsyncConnection, statement: UpdateBase, rows: Rows, *, key: Sequence[str]
) -> list[Row[Any]]:
    """Run ``statement`` once per parameter set of ``rows``, in order, as few statements as the
    dialect allows (see the module), and return what its ``RETURNING`` returned (in no set
    order). ``statement`` is an UPDATE or DELETE whose parameters are typed ``bindparam`` s, or
    an INSERT into a table whose rows name its columns, built once (what is derived from it is
    kept by it, for the life of the process); ``key`` names the parameters that identify the
    row each set writes (none: no two sets write the same row)."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql" or len(rows) < ARRAYS_FROM:
        return _returned(await conn.execute(statement, list(rows)))
    names = tuple(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError("every parameter set must name the same parameters")
    returned: list[Row[Any]] = []
    for part in _rounds(rows, key):
        if len(part) < ARRAYS_FROM:
            result = await conn.execute(statement, part)
        else:
            arrays = {name: [row[name] for row in part] for name in names}
            result = await conn.execute(_unnested(statement, names), arrays)
        returned += _returned(result)
    return returned


def _returned(result: CursorResult[Any]) -> list[Row[Any]]:
    return list(result.all()) if result.returns_rows else []


def _rounds(rows: Rows, key: Sequence[str]) -> list[list[Mapping[str, Any]]]:
    """``rows`` in rounds where no key repeats, each row in the round after its key's last."""
    if not key:
        return [list(rows)]
    seen: Counter[tuple[Any, ...]] = Counter()
    rounds: list[list[Mapping[str, Any]]] = []
    for row in rows:
        identity = tuple(row[name] for name in key)
        place = seen[identity]
        seen[identity] += 1
        if place == len(rounds):
            rounds.append([])
        rounds[place].append(row)
    return rounds


def _unnested(statement: UpdateBase, names: tuple[str, ...]) -> UpdateBase:
    """``statement`` reading its parameters from ``unnest`` of one array per name (built once
    per statement and set of names: building it costs more than running it)."""
    shape = (statement, names)
    found = _BUILT.get(shape)
    if found is None:
        found = _BUILT[shape] = _build(statement, names)
    return found


_BUILT: dict[tuple[UpdateBase, tuple[str, ...]], UpdateBase] = {}
"""Statements by the one they unnest (held alive, so an ``id`` is never reused) and names."""


def _build(statement: UpdateBase, names: tuple[str, ...]) -> UpdateBase:
    arrays = {name: _array(type_) for name, type_ in _types(statement, names).items()}
    source = (
        func.unnest(*(cast(bindparam(name, type_=arrays[name]), arrays[name]) for name in names))
        .table_valued(*names)
        .render_derived(name="bulk")
    )
    if isinstance(statement, Insert):
        return statement.from_select(list(names), select(*(source.c[name] for name in names)))

    def column(element: visitors.ExternallyTraversible, **_kw: Any) -> ColumnElement[Any] | None:
        if isinstance(element, BindParameter) and element.key in arrays:
            return source.c[element.key]
        return None

    built = visitors.replacement_traverse(statement, {}, column)
    assert isinstance(built, UpdateBase)
    return built


def _array(element: TypeEngine[Any]) -> ARRAY[Any]:
    """One parameter's values as an array, one dimension whatever they hold: SQLAlchemy takes
    an array whose first value is a list for an array of arrays, so a JSON list first would have
    each value split into its items, and ``unnest`` would flatten those into rows of their own."""
    return ARRAY(_unbounded(element), dimensions=1)


def _unbounded(element: TypeEngine[Any]) -> TypeEngine[Any]:
    """``element`` without a length: a cast to ``VARCHAR(n)[]`` would cut a value too long
    where writing it to its column refuses it, as ``executemany`` does."""
    if isinstance(element, String) and element.length is not None:
        element = element.copy()
        element.length = None
    return element


def _types(statement: UpdateBase, names: tuple[str, ...]) -> dict[str, TypeEngine[Any]]:
    """Each parameter's type: its column's for an INSERT, its ``bindparam`` 's otherwise."""
    if isinstance(statement, Insert):
        table = statement.table
        assert isinstance(table, Table)
        return {name: table.c[name].type for name in names}
    found: dict[str, TypeEngine[Any]] = {}
    for element in visitors.iterate(statement):
        if isinstance(element, BindParameter) and element.key in names:
            if isinstance(element.type, NullType):
                raise TypeError(f"bindparam {element.key!r} needs a type to go in an array")
            found[element.key] = element.type
    missing = set(names) - set(found)
    if missing:
        raise KeyError(f"the statement has no parameters {sorted(missing)}")
    return found
