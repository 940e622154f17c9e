"""Fill a desired-state table from a CSV file, row by row, in one transaction.

The file is streamed and written in batches of upserts, so thousands of rows load quickly and
memory stays flat (apart from one set of keys, used to catch a key given twice). Good rows are
written and bad ones reported with their line, column and reason; if anything fails underway the
transaction rolls back and nothing is written. Loading the same file twice changes nothing; a
later file updates the rows it names and, with ``replace``, removes the ones it does not.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, and_, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.errors import SyncerError
from syncer.model import CHILD_KINDS, OBJECT_KINDS, RELATION_KINDS, Kind
from syncer.store.db import write_transaction
from syncer.store.tables import desired_identity, desired_tables
from syncer.store.upsert import upsert
from syncer.store.validate import KeyRule, columns_of, identity, key_rules, validate_row

BATCH_SIZE = 1000


class CsvFormatError(SyncerError):
    """The file cannot be loaded at all (unreadable, or a header that does not fit the table)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a CSV row was not loaded; ``column`` is ``None`` when the whole row is at fault."""

    line: int
    column: str | None
    reason: str


@dataclass(slots=True)
class LoadResult:
    table: str
    loaded: int = 0
    deleted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    orphaned: dict[str, int] = field(default_factory=dict)
    """Table -> rows there that name an object this load deleted (plan will report them)."""

    @property
    def rejected_lines(self) -> int:
        return len({rejection.line for rejection in self.rejected})


def read_header(kind: Kind, header: Sequence[str]) -> tuple[str, ...]:
    """The header's column names, checked against the table: every name known, keys present."""
    names = tuple(name.strip() for name in header)
    known = columns_of(kind)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CsvFormatError(
            f"unknown column(s) {', '.join(map(repr, unknown))} for {kind.name}; "
            f"expected some of: {', '.join(known)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CsvFormatError(f"column(s) named twice in the header: {', '.join(repeated)}")
    missing = [rule.column for rule in key_rules(kind) if rule.column not in names]
    if missing:
        raise CsvFormatError(f"the header lacks the key column(s): {', '.join(missing)}")
    return names


def _records(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    """Each CSV record with the line it starts on (a quoted field may span lines)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            start = 1
            for record in reader:
                if record:
                    yield start, record
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError) as exc:
        raise CsvFormatError(f"cannot read {path}: {exc}") from None
    except csv.Error as exc:
        raise CsvFormatError(f"{path} is not valid CSV: {exc}") from None


def _raw_identity(kind: Kind, raw: Mapping[str, str]) -> tuple[str, ...] | None:
    """The identity a rejected row would have had, when its key columns can be read."""
    parts = [(rule, (raw.get(rule.column) or "").strip()) for rule in key_rules(kind)]
    if any(not text for _, text in parts):
        return None
    return tuple(rule.normalise(text) for rule, text in parts)


async def _known_keys(conn: AsyncConnection, rule: KeyRule) -> set[str]:
    kind = OBJECT_KINDS[rule.kind]
    column = desired_tables[kind.name].c[kind.key_column]
    result = await conn.stream(select(column))
    return {rule.normalise(key) async for (key,) in result}


class _Batch:
    """Rows waiting to be written; flushed as one multi-row upsert."""

    def __init__(self, conn: AsyncConnection, kind: Kind, columns: Sequence[str]) -> None:
        self.conn = conn
        self.table = desired_tables[kind.name]
        self.conflict = desired_identity[kind.name]
        self.columns = columns
        self.rows: list[dict[str, object]] = []
        self.written = 0

    async def add(self, row: dict[str, object]) -> None:
        self.rows.append(row)
        if len(self.rows) >= BATCH_SIZE:
            await self.flush()

    async def flush(self) -> None:
        await upsert(self.conn, self.table, self.rows, conflict=self.conflict, update=self.columns)
        self.written += len(self.rows)
        self.rows = []


async def _delete_others(
    conn: AsyncConnection, kind: Kind, table: Table, keep: set[tuple[str, ...]]
) -> int:
    """Delete the rows whose identity is not in ``keep``; returns how many."""
    key_columns = [rule.column for rule in key_rules(kind)]
    doomed: list[dict[str, object]] = []
    async for row in await conn.stream(select(*(table.c[name] for name in key_columns))):
        values = dict(zip(key_columns, row, strict=True))
        if identity(kind, values) not in keep:
            doomed.append({f"k_{name}": values[name] for name in key_columns})
    if doomed:
        condition = and_(*(table.c[name] == bindparam(f"k_{name}") for name in key_columns))
        await conn.execute(delete(table).where(condition), doomed)
    return len(doomed)


async def _orphans(conn: AsyncConnection, kind: Kind) -> dict[str, int]:
    """Per relation table, how many rows name a ``kind`` key its table no longer holds."""
    counts: dict[str, int] = {}
    referring: tuple[Kind, ...] = (*RELATION_KINDS.values(), *CHILD_KINDS.values())
    for relation in referring:
        for rule in key_rules(relation):
            if rule.kind != kind.name:
                continue
            present = await _known_keys(conn, rule)
            column = desired_tables[relation.name].c[rule.column]
            stream = await conn.stream(select(column))
            missing = sum([rule.normalise(value) not in present async for (value,) in stream])
            if missing:
                counts[relation.table] = counts.get(relation.table, 0) + missing
    return counts


async def load_csv(
    engine: AsyncEngine, kind: Kind, path: Path, *, replace: bool = False
) -> LoadResult:
    """Validate every row of ``path`` and upsert the good ones into the kind's table.

    A relation row must name a group/user that the desired-state tables already hold. With
    ``replace`` the table ends up holding exactly the file's rows; a rejected row whose key can
    be read keeps its stored version rather than being deleted for a typo elsewhere in the row.
    """
    table = desired_tables[kind.name]
    result = LoadResult(table=table.name)
    with closing(_records(path)) as records:
        first = next(records, None)
        if first is None:
            raise CsvFormatError(f"{path} is empty; the first line must name the columns")
        header = read_header(kind, first[1])
        await _load_records(engine, kind, header, records, result, replace=replace)
    return result


async def _load_records(
    engine: AsyncEngine,
    kind: Kind,
    header: Sequence[str],
    records: Iterator[tuple[int, list[str]]],
    result: LoadResult,
    *,
    replace: bool,
) -> None:
    table = desired_tables[kind.name]
    async with write_transaction(engine) as conn:
        references = {
            rule.column: await _known_keys(conn, rule)
            for rule in key_rules(kind)
            if rule.kind in OBJECT_KINDS and rule.kind != kind.name
        }
        batch = _Batch(conn, kind, header)
        seen: dict[tuple[str, ...], int] = {}
        protected: set[tuple[str, ...]] = set()
        for line, record in records:
            problems, row = _check(kind, header, record, references)
            key = identity(kind, row) if row is not None else None
            if key is not None and key in seen:
                problems.append((None, f"duplicate key, first on line {seen[key]}"))
            if problems:
                result.rejected.extend(Rejection(line, *problem) for problem in problems)
                raw_key = _raw_identity(kind, dict(zip(header, record, strict=False)))
                if raw_key is not None:
                    protected.add(raw_key)
                continue
            assert row is not None
            assert key is not None
            seen[key] = line
            await batch.add(row)
        await batch.flush()
        result.loaded = batch.written
        if replace:
            result.deleted = await _delete_others(conn, kind, table, seen.keys() | protected)
            if result.deleted:
                result.orphaned = await _orphans(conn, kind)


def _check(
    kind: Kind,
    header: Sequence[str],
    record: Sequence[str],
    references: Mapping[str, set[str]],
) -> tuple[list[tuple[str | None, str]], dict[str, object] | None]:
    """Validate one record: field count, then each value, then the rows it refers to.

    Returns the problems as (column or ``None``, reason), and the typed row when there are none.
    """
    if len(record) != len(header):
        return [(None, f"expected {len(header)} fields, got {len(record)}")], None
    checked = validate_row(kind, dict(zip(header, record, strict=True)))
    if isinstance(checked, list):
        return [(error.column, error.reason) for error in checked], None
    problems: list[tuple[str | None, str]] = [
        (rule.column, f"{checked[rule.column]!r} is not in desired {rule.kind}")
        for rule in key_rules(kind)
        if rule.column in references
        and rule.normalise(str(checked[rule.column])) not in references[rule.column]
    ]
    return problems, (None if problems else checked)
