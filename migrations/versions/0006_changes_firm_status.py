"""An index on the journal's (firm, status): the open changes of a firm without its history.

Every run's recovery first asks whether the firm has a change still open (``apply.recovery``);
with only the run id and change id indexed, that query read every journal row the firm ever
wrote, so a worker's every job cost more as its firms' history grew.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_syncer_changes_firm_status", "syncer_changes", ["firm", "status"])


def downgrade() -> None:
    op.drop_index("ix_syncer_changes_firm_status", table_name="syncer_changes")
