"""Entity addresses: the desired_entity_addresses table and syncer_child_marks bookkeeping.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desired_entity_addresses",
        sa.Column("entity_no", sa.String(length=50), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("address1", sa.String(length=100), nullable=True),
        sa.Column("address2", sa.String(length=100), nullable=True),
        sa.Column("address3", sa.String(length=100), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("entity_no", "category", name=op.f("pk_desired_entity_addresses")),
    )
    op.create_index(
        "uq_desired_entity_addresses_identity",
        "desired_entity_addresses",
        [sa.literal_column("entity_no"), sa.literal_column("lower(category)")],
        unique=True,
    )
    op.create_table(
        "syncer_child_marks",
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("parent_key", sa.String(length=255), nullable=False),
        sa.Column("parent_cwguid", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm", "kind", "parent_key", name=op.f("pk_syncer_child_marks")),
    )


def downgrade() -> None:
    op.drop_table("syncer_child_marks")
    op.drop_index("uq_desired_entity_addresses_identity", table_name="desired_entity_addresses")
    op.drop_table("desired_entity_addresses")
