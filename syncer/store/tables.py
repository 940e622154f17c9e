"""SQLAlchemy table definitions: the desired-state contract and syncer's own bookkeeping.

The desired-state tables are generated from the resource kinds in ``syncer.model`` so that a
managed field added there appears here (and, through a migration, in the database) without a
second list to keep in step. Bookkeeping tables are prefixed ``syncer_``; users never write them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.sql.elements import ColumnElement

from syncer.model import (
    CHILD_KINDS,
    KEY_LENGTH,
    OBJECT_KINDS,
    RELATION_KINDS,
    ChildKind,
    FieldSpec,
    Kind,
    ObjectKind,
    RelationKind,
    ValueType,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _field_columns(fields: tuple[FieldSpec, ...]) -> list[Column[object]]:
    return [
        Column(
            spec.column,
            Boolean if spec.value_type is ValueType.BOOL else String(spec.max_length or KEY_LENGTH),
            nullable=True,
        )
        for spec in fields
    ]


def _object_table(kind: ObjectKind) -> Table:
    key = Column(kind.key_column, String(kind.key_max_length or KEY_LENGTH), primary_key=True)
    return Table(kind.table, metadata, key, *_field_columns(kind.fields))


def _child_table(kind: ChildKind) -> Table:
    parent = OBJECT_KINDS[kind.parent_kind]
    return Table(
        kind.table,
        metadata,
        Column(kind.parent_column, String(parent.key_max_length or KEY_LENGTH), primary_key=True),
        Column(kind.category_column, String(kind.category_max_length), primary_key=True),
        *_field_columns(kind.fields),
    )


def _relation_table(kind: RelationKind) -> Table:
    return Table(
        kind.table,
        metadata,
        Column(kind.parent_column, String(KEY_LENGTH), primary_key=True),
        Column(kind.member_column, String(KEY_LENGTH), primary_key=True),
    )


def _key_parts(kind: Kind) -> tuple[tuple[str, bool], ...]:
    """The key columns of a kind, each with whether Cloud compares it case-insensitively."""
    if isinstance(kind, ObjectKind):
        return ((kind.key_column, kind.key_case_insensitive),)

    def insensitive(kind_name: str) -> bool:
        referenced = OBJECT_KINDS.get(kind_name)
        return referenced is not None and referenced.key_case_insensitive

    if isinstance(kind, ChildKind):
        return ((kind.parent_column, insensitive(kind.parent_kind)), (kind.category_column, True))
    return (
        (kind.parent_column, insensitive(kind.parent_kind)),
        (kind.member_column, insensitive(kind.member_kind)),
    )


def _identity(table: Table, kind: Kind) -> tuple[ColumnElement[str], ...]:
    """The key as the database must keep it unique: lower() where Cloud ignores case.

    A case-insensitive key gets a unique index on ``lower(key)`` so ``a@x.com`` and ``A@x.com``
    cannot both be desired; upserts name the same expressions as their conflict target.
    """
    parts = _key_parts(kind)
    elements = tuple(
        func.lower(table.c[column]) if folded else table.c[column] for column, folded in parts
    )
    if any(folded for _, folded in parts):
        Index(f"uq_{table.name}_identity", *elements, unique=True)
    return elements


desired_tables: dict[str, Table] = {
    **{name: _object_table(kind) for name, kind in OBJECT_KINDS.items()},
    **{name: _relation_table(kind) for name, kind in RELATION_KINDS.items()},
    **{name: _child_table(kind) for name, kind in CHILD_KINDS.items()},
}
"""Kind name -> its desired-state table."""

_ALL_KINDS: dict[str, Kind] = {**OBJECT_KINDS, **RELATION_KINDS, **CHILD_KINDS}
desired_identity: dict[str, tuple[ColumnElement[str], ...]] = {
    name: _identity(desired_tables[name], kind) for name, kind in _ALL_KINDS.items()
}
"""Kind name -> the unique identity of its rows (the conflict target of an upsert)."""

runs = Table(
    "syncer_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("firm", String(100), nullable=False, index=True),
    Column("command", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("exit_code", Integer),
    Column("plan_fingerprint", String(64)),
    Column("counts", JSON, nullable=False, default=dict),
    Column("requests", Integer, nullable=False, default=0),
    Column("throttled", Integer, nullable=False, default=0),
    Column("unauthorized", Integer, nullable=False, default=0),
    Column("learned_rate", Float),
    Column("achieved_rate", Float),
    Column("message", Text),
    Column("latency", JSON),
    Column("pages_past_end", Integer),
    Column("plan_requests", Integer),
)

changes = Table(
    "syncer_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("syncer_runs.id"), nullable=False, index=True),
    Column("firm", String(100), nullable=False),
    Column("change_id", String(600), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("action", String(20), nullable=False),
    Column("key", String(520), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("remote_id", String(64)),
    Column("payload", JSON),
    Column("message", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_syncer_changes_firm_status", "firm", "status"),
)
"""``firm, status``: recovery's clean-start check (a change of the firm still open) reads the
open rows only, not the firm's whole history."""

id_map = Table(
    "syncer_id_map",
    metadata,
    Column("firm", String(100), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("cwguid", String(64), nullable=False),
    Column("remote_num_id", Integer),
    Column("origin", String(20), nullable=False),
    Column("run_id", Integer, ForeignKey("syncer_runs.id")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_syncer_id_map_cwguid", "firm", "cwguid"),
)

failed_keys = Table(
    "syncer_failed_keys",
    metadata,
    Column("firm", String(100), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("key", String(520), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
)

run_lock = Table(
    "syncer_lock",
    metadata,
    Column("firm", String(100), primary_key=True),
    Column("run_id", Integer),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

child_marks = Table(
    "syncer_child_marks",
    metadata,
    Column("firm", String(100), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("parent_key", String(KEY_LENGTH), primary_key=True),
    Column("parent_cwguid", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)
"""Per parent, the desired children last seen in step with Cloud (a digest of their rows) and
when Cloud was last read for them: a parent whose digest still matches is not read again until
the re-read interval has passed (``syncer.children.marks``)."""
