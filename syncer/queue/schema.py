"""The queue's tables: procrastinate's schema and syncer's outcome table, in their own namespace.

Everything lives in the PostgreSQL schema ``syncer_queue`` so syncer's own tables remain exactly
those of ``syncer.store.tables`` (its drift check stays meaningful) and procrastinate connections
find their objects through ``search_path`` (see ``syncer.queue.app``).
"""

from __future__ import annotations

from typing import Final

from procrastinate.schema import SchemaManager
from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, String, Table, Text

QUEUE_SCHEMA: Final = "syncer_queue"

queue_metadata = MetaData(schema=QUEUE_SCHEMA)

outcomes = Table(
    "queue_outcomes",
    queue_metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=False),
    Column("firm", String(100), nullable=False),
    Column("action", String(20), nullable=False),
    Column("worker", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("exit_code", Integer),
    Column("run_id", Integer),
    Column("message", Text),
)
"""Who ran each job and how it ended (procrastinate keeps no result): ``syncer queue status``."""


def install_queue_schema(conn: Connection) -> None:
    """Create ``syncer_queue`` with procrastinate's objects and ``queue_outcomes`` inside it.

    procrastinate's SQL names its objects without a schema, so it runs with ``search_path``
    pointed at ``syncer_queue`` for this transaction only, then the caller's path is restored.
    """
    saved = conn.exec_driver_sql("SELECT current_setting('search_path')").scalar_one()
    conn.exec_driver_sql(f"CREATE SCHEMA {QUEUE_SCHEMA}")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {QUEUE_SCHEMA}")
    cursor = conn.connection.cursor()
    try:
        # The driver's cursor, without parameters: the script holds many statements and '%'.
        cursor.execute(SchemaManager.get_schema())
    finally:
        cursor.close()
    conn.exec_driver_sql("SELECT set_config('search_path', %(path)s, true)", {"path": saved})
    queue_metadata.create_all(conn)


def drop_queue_schema(conn: Connection) -> None:
    """Remove the queue and everything in it (jobs, history, outcomes)."""
    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {QUEUE_SCHEMA} CASCADE")
