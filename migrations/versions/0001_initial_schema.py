"""Initial schema: the desired-state tables (docs/architecture.md §6) and syncer_* bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 21:11:09.818890
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desired_entities",
        sa.Column("entity_no", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("operating_name", sa.String(length=200), nullable=True),
        sa.Column("organization_type", sa.String(length=50), nullable=True),
        sa.Column("country_code", sa.String(length=3), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("entity_no", name=op.f("pk_desired_entities")),
    )
    op.create_table(
        "desired_group_members",
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("user_email", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "user_email", name=op.f("pk_desired_group_members")),
    )
    op.create_index(
        "uq_desired_group_members_identity",
        "desired_group_members",
        [sa.literal_column("lower(group_name)"), sa.literal_column("lower(user_email)")],
        unique=True,
    )
    op.create_table(
        "desired_groups",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_desired_groups")),
    )
    op.create_index(
        "uq_desired_groups_identity",
        "desired_groups",
        [sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "desired_user_roles",
        sa.Column("user_email", sa.String(length=255), nullable=False),
        sa.Column("role_name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("user_email", "role_name", name=op.f("pk_desired_user_roles")),
    )
    op.create_index(
        "uq_desired_user_roles_identity",
        "desired_user_roles",
        [sa.literal_column("lower(user_email)"), "role_name"],
        unique=True,
    )
    op.create_table(
        "desired_users",
        sa.Column("email", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=30), nullable=True),
        sa.Column("middle_name", sa.String(length=30), nullable=True),
        sa.Column("last_name", sa.String(length=30), nullable=True),
        sa.Column("title", sa.String(length=50), nullable=True),
        sa.Column("user_name", sa.String(length=50), nullable=True),
        sa.Column("owner_type", sa.String(length=255), nullable=True),
        sa.Column("admin", sa.Boolean(), nullable=True),
        sa.Column("sso", sa.Boolean(), nullable=True),
        sa.Column("can_login", sa.Boolean(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_desired_users")),
    )
    op.create_index(
        "uq_desired_users_identity",
        "desired_users",
        [sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "syncer_failed_keys",
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=520), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm", "kind", "key", name=op.f("pk_syncer_failed_keys")),
    )
    op.create_table(
        "syncer_lock",
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("firm", name=op.f("pk_syncer_lock")),
    )
    op.create_table(
        "syncer_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("command", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("plan_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("unauthorized", sa.Integer(), nullable=False),
        sa.Column("learned_rate", sa.Float(), nullable=True),
        sa.Column("achieved_rate", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syncer_runs")),
    )
    op.create_index(op.f("ix_syncer_runs_firm"), "syncer_runs", ["firm"], unique=False)
    op.create_table(
        "syncer_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("change_id", sa.String(length=600), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=520), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["syncer_runs.id"], name=op.f("fk_syncer_changes_run_id_syncer_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syncer_changes")),
    )
    op.create_index(
        op.f("ix_syncer_changes_change_id"), "syncer_changes", ["change_id"], unique=False
    )
    op.create_index(op.f("ix_syncer_changes_run_id"), "syncer_changes", ["run_id"], unique=False)
    op.create_table(
        "syncer_id_map",
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("cwguid", sa.String(length=64), nullable=False),
        sa.Column("remote_num_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["syncer_runs.id"], name=op.f("fk_syncer_id_map_run_id_syncer_runs")
        ),
        sa.PrimaryKeyConstraint("firm", "kind", "key", name=op.f("pk_syncer_id_map")),
    )
    op.create_index("ix_syncer_id_map_cwguid", "syncer_id_map", ["firm", "cwguid"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_syncer_id_map_cwguid", table_name="syncer_id_map")
    op.drop_table("syncer_id_map")
    op.drop_index(op.f("ix_syncer_changes_run_id"), table_name="syncer_changes")
    op.drop_index(op.f("ix_syncer_changes_change_id"), table_name="syncer_changes")
    op.drop_table("syncer_changes")
    op.drop_index(op.f("ix_syncer_runs_firm"), table_name="syncer_runs")
    op.drop_table("syncer_runs")
    op.drop_table("syncer_lock")
    op.drop_table("syncer_failed_keys")
    op.drop_index("uq_desired_users_identity", table_name="desired_users")
    op.drop_table("desired_users")
    op.drop_index("uq_desired_user_roles_identity", table_name="desired_user_roles")
    op.drop_table("desired_user_roles")
    op.drop_index("uq_desired_groups_identity", table_name="desired_groups")
    op.drop_table("desired_groups")
    op.drop_index("uq_desired_group_members_identity", table_name="desired_group_members")
    op.drop_table("desired_group_members")
    op.drop_table("desired_entities")
