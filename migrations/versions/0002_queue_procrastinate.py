"""The job queue of ``syncer worker`` (procrastinate), on PostgreSQL only.

procrastinate's own schema (tables, functions, triggers) goes into a PostgreSQL schema of its own,
``syncer_queue``, beside syncer's ``queue_outcomes`` table, so syncer's tables stay exactly those
of its metadata and ``db downgrade`` removes the queue with one ``DROP SCHEMA``. The SQL is the one
shipped with the installed procrastinate; a later procrastinate release that changes it comes with
a later syncer revision applying its migration scripts. On SQLite (single machine, no queue) this
revision does nothing.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from syncer.queue.schema import drop_queue_schema, install_queue_schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        install_queue_schema(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        drop_queue_schema(bind)
