"""Latency per route family and pages read past the end, on each run row (issue #16).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.add_column(sa.Column("latency", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pages_past_end", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.drop_column("pages_past_end")
        batch.drop_column("latency")
