"""Read the desired state: every kind from its table, or from the firm's own view or query.

Each row passes through ``store.validate`` exactly as a loaded CSV row does. Rows that cannot be
sent become ``DesiredState.invalid`` entries; a source that cannot be read at all becomes one
invalid entry for the kind (key ``""``) and a warning.

Safety rule: ``DesiredState.complete`` decides whether the planner may retire objects of a kind
that desired state no longer lists, so a kind is put there only when

- its source was read without error, and
- it produced at least one valid row (an empty table or view is far more often a broken ETL job
  than a firm that wants every client deactivated), and
- every row had a valid key (a row with a missing or malformed key wants *some* object kept, and
  we cannot tell which).

Rows that are invalid for other reasons keep their key in ``invalid``; the planner must treat
those keys as still desired and never retire them.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Executable, inspect, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.errors import ConfigError
from syncer.model import (
    ALL_KINDS,
    OBJECT_KINDS,
    ChildKind,
    Kind,
    ObjectKind,
    RelationKind,
    kind_named,
)
from syncer.settings import Settings
from syncer.state import DesiredChild, DesiredLink, DesiredRow, DesiredState, InvalidRow
from syncer.store.db import first_line, read_connection
from syncer.store.tables import desired_tables
from syncer.store.validate import display_key, identity, key_rules, validate_row

log = structlog.get_logger(__name__)

_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


class SourceError(Exception):
    """A configured source cannot be used (bad name, missing key column)."""


def source_statement(kind: Kind, source: str | None, dialect: Dialect) -> Executable:
    """The SELECT reading ``kind``: its own table, a named view/table, or the user's query."""
    if source is None or not source.strip():
        found = _OWN_TABLE.get(kind.name)
        if found is None:
            table = desired_tables[kind.name]
            order = (table.c[rule.column] for rule in key_rules(kind))
            found = _OWN_TABLE[kind.name] = select(table).order_by(*order)
        return found
    if _QUERY.match(source):
        # The operator's SQL runs as written: a ':x' in it is text, not a bind parameter.
        return text(source.replace(":", r"\:"))
    if not _NAME.match(source.strip()):
        raise SourceError(f"sources.{kind.name}: expected a view name or a SELECT, got {source!r}")
    quote = dialect.identifier_preparer.quote
    name = ".".join(quote(part) for part in source.strip().split("."))
    return text(f"SELECT * FROM {name}")  # noqa: S608 - identifiers validated and quoted


_OWN_TABLE: dict[str, Executable] = {}
"""Each kind's read of its own table, built once per process: a worker reads every kind for
every job, and building the six statements (and their cache keys) each time was about a third
of reading them (3.0-3.4 ms -> 1.9-2.3 ms a read of a 60-client firm, one at a time on
PostgreSQL, load ~3)."""


@dataclass(slots=True)
class _KindRows:
    """What one source yielded, before it is put into the snapshot."""

    valid: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    invalid_keys: set[tuple[str, ...]] = field(default_factory=set)
    """Normalised keys of rows rejected for a value other than their key."""
    keyless: bool = False


async def _read_kind(conn: AsyncConnection, kind: Kind, source: str | None) -> _KindRows:
    """Every row of the source, validated. A plain query, not a server-side cursor: the rows end
    up in ``DesiredState`` whole anyway, and a cursor cost a DECLARE, a FETCH per batch and a
    CLOSE per kind, about half of a small firm's reading (a worker reads once per job)."""
    rows = _KindRows()
    first_row: dict[tuple[str, ...], int] = {}
    result = await conn.execute(source_statement(kind, source, conn.dialect))
    columns = set(result.keys())
    missing = [rule.column for rule in key_rules(kind) if rule.column not in columns]
    if missing:
        raise SourceError(f"the source has no column(s) {', '.join(missing)}")
    for number, record in enumerate(result.mappings(), start=1):
        raw: dict[str, object] = {str(column): value for column, value in record.items()}
        checked = validate_row(kind, raw)
        if isinstance(checked, list):
            if any(error.column in _key_columns(kind) for error in checked):
                rows.keyless = True
            else:
                rows.invalid_keys.add(_raw_identity(kind, raw))
            reason = "; ".join(map(str, checked))
            rows.invalid.append(InvalidRow(kind.name, display_key(kind, raw), reason, number))
            continue
        key = identity(kind, checked)
        if key in first_row:
            reason = f"duplicate key, first on row {first_row[key]}"
            rows.invalid.append(InvalidRow(kind.name, display_key(kind, raw), reason, number))
            continue
        first_row[key] = number
        rows.valid.append((number, checked))
    return rows


def _key_columns(kind: Kind) -> frozenset[str]:
    return frozenset(rule.column for rule in key_rules(kind))


def _raw_identity(kind: Kind, raw: Mapping[str, object]) -> tuple[str, ...]:
    """The identity of a row whose key columns passed validation (the rest did not)."""
    return tuple(rule.normalise(str(raw[rule.column]).strip()) for rule in key_rules(kind))


def _object_row(kind: ObjectKind, number: int, values: Mapping[str, object]) -> DesiredRow:
    managed = {spec.column: values.get(spec.column) for spec in kind.fields}
    return DesiredRow(key=str(values[kind.key_column]), values=managed, row=number)


@dataclass(frozen=True, slots=True)
class _Known:
    """The keys of a completely read object kind: valid rows, and rows rejected for a value."""

    valid: frozenset[str]
    invalid: frozenset[str]


def _dangling(
    kind: RelationKind | ChildKind, values: Mapping[str, object], known: Mapping[str, _Known]
) -> str | None:
    """Why a link names an object desired state does not have (checked only for complete kinds)."""
    for rule in key_rules(kind):
        keys = known.get(rule.kind)
        key = rule.normalise(str(values[rule.column]))
        if keys is None or key in keys.valid:
            continue
        problem = "is an invalid row of" if key in keys.invalid else "is not in"
        return f"{rule.column}: {values[rule.column]!r} {problem} desired {rule.kind}"
    return None


_PRESENT: weakref.WeakKeyDictionary[AsyncEngine, frozenset[str]] = weakref.WeakKeyDictionary()
"""Tables found present through each engine: a worker runs many firms' jobs on one engine, and
looking the tables up again for every job cost a catalogue query and an inspector each time.
(Only presence is remembered: a missing table is looked for again, ``db upgrade`` may add it.)"""


async def _require_own_tables(engine: AsyncEngine, kinds: list[str]) -> None:
    """A kind read from syncer's own table needs that table: a missing one means the schema was
    never created, which must not read as "nothing desired" (that would plan to retire all)."""
    names = [desired_tables[kind].name for kind in kinds]
    if set(names) <= _PRESENT.get(engine, frozenset()):
        return
    async with read_connection(engine) as conn:
        present = await conn.run_sync(lambda sync: frozenset(inspect(sync).get_table_names()))
    _PRESENT[engine] = present
    missing = [name for name in names if name not in present]
    if missing:
        raise ConfigError(
            f"the desired-state table(s) {', '.join(missing)} do not exist in database.url; "
            "run `syncer db upgrade`"
        )


async def read_desired_state(engine: AsyncEngine, settings: Settings) -> DesiredState:
    """Read and validate every kind; see the module docstring for what ``complete`` means.

    A ``sources`` entry naming no kind is a configuration error (exit 78), not silently ignored.
    """
    unknown = sorted(set(settings.sources) - set(ALL_KINDS))
    if unknown:
        raise ConfigError(
            f"sources.{unknown[0]}: unknown kind; expected one of {', '.join(ALL_KINDS)}"
        )
    await _require_own_tables(engine, [n for n in ALL_KINDS if not settings.sources.get(n)])
    objects: dict[str, tuple[DesiredRow, ...]] = {}
    links: dict[str, tuple[DesiredLink, ...]] = {}
    invalid: list[InvalidRow] = []
    complete: set[str] = set()
    known: dict[str, _Known] = {}
    children: dict[str, tuple[DesiredChild, ...]] = {}
    async with read_connection(engine) as conn:  # one connection for every kind
        for name in ALL_KINDS:
            kind = kind_named(name)
            try:
                rows = await _read_kind(conn, kind, settings.sources.get(name))
            except (SQLAlchemyError, SourceError) as exc:
                reason = f"source unreadable: {first_line(exc)}"
                log.warning("desired source unreadable", kind=name, reason=reason)
                invalid.append(InvalidRow(name, "", reason))
                await conn.rollback()  # a failed statement ends PostgreSQL's transaction
                continue
            invalid.extend(rows.invalid)
            if isinstance(kind, ObjectKind):
                objects[name] = tuple(_object_row(kind, number, row) for number, row in rows.valid)
                good = rows.valid
            else:
                good = _resolved(kind, rows.valid, known, invalid)
                if isinstance(kind, RelationKind):
                    links[name] = tuple(
                        DesiredLink(
                            str(row[kind.parent_column]), str(row[kind.member_column]), number
                        )
                        for number, row in good
                    )
                else:
                    children[name] = tuple(_child_row(kind, number, row) for number, row in good)
            if good and not rows.keyless:
                complete.add(name)
            if name in OBJECT_KINDS and name in complete:
                known[name] = _Known(
                    valid=frozenset(identity(kind, row)[0] for _, row in rows.valid),
                    invalid=frozenset(key[0] for key in rows.invalid_keys),
                )
    return DesiredState(
        objects=objects,
        links=links,
        invalid=tuple(invalid),
        complete=frozenset(complete),
        children=children,
    )


def _resolved(
    kind: RelationKind | ChildKind,
    rows: list[tuple[int, dict[str, object]]],
    known: Mapping[str, _Known],
    invalid: list[InvalidRow],
) -> list[tuple[int, dict[str, object]]]:
    """The rows whose referenced objects desired state has; the others join ``invalid``."""
    good = []
    for number, row in rows:
        problem = _dangling(kind, row, known)
        if problem is None:
            good.append((number, row))
        else:
            invalid.append(InvalidRow(kind.name, display_key(kind, row), problem, number))
    return good


def _child_row(kind: ChildKind, number: int, values: Mapping[str, object]) -> DesiredChild:
    managed = {spec.column: values.get(spec.column) for spec in kind.fields}
    parent, category = (str(values[column]) for column in kind.key_columns)
    return DesiredChild(parent, category, managed, number)
