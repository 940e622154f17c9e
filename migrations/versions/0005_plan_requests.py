"""The requests a run made before applying (recovery and planning reads), on each run row.

``requests`` stays the run's total; the requests sent while applying are the difference.
Older rows leave it empty: their split is unknown.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.add_column(sa.Column("plan_requests", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("syncer_runs") as batch:
        batch.drop_column("plan_requests")
