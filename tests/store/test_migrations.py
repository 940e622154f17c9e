"""Migrations up, down and free of drift, on SQLite and PostgreSQL."""

from __future__ import annotations

import warnings
from importlib.resources import files
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.pool import NullPool

from syncer.store import db, schema
from syncer.store.tables import desired_tables, metadata

pytestmark = pytest.mark.anyio


def _drift(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (lower(email)); a test below checks them.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _index_names(conn: Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = conn.exec_driver_sql("SELECT indexname FROM pg_indexes")
    return {name for (name,) in rows}


async def _run(url: str, fn: Any) -> Any:
    engine = db.create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table_without_drift(database_url: str) -> None:
    assert await schema.current(database_url) == ()
    await schema.upgrade(database_url)
    assert await schema.current(database_url) == (schema.head_revision(),)
    assert await _run(database_url, _drift) == []
    assert set(metadata.tables) <= await _run(database_url, _tables)


async def test_identity_indexes_exist_for_case_insensitive_keys(migrated_database_url: str) -> None:
    names = await _run(migrated_database_url, _index_names)
    assert {f"uq_{desired_tables[kind].name}_identity" for kind in ("users", "groups")} <= names


async def test_the_journal_is_indexed_by_firm_and_status_from_0006(database_url: str) -> None:
    """Recovery's clean-start check reads a firm's open changes, not its whole history."""
    await schema.upgrade(database_url)
    assert "ix_syncer_changes_firm_status" in await _run(database_url, _index_names)
    await schema.downgrade(database_url, "0005")
    assert "ix_syncer_changes_firm_status" not in await _run(database_url, _index_names)
    await schema.upgrade(database_url)
    assert "ix_syncer_changes_firm_status" in await _run(database_url, _index_names)


async def test_upgrade_twice_is_harmless_and_downgrade_removes_everything(
    database_url: str,
) -> None:
    await schema.upgrade(database_url)
    await schema.upgrade(database_url)
    await schema.downgrade(database_url, "base")
    assert await schema.current(database_url) == ()
    assert await _run(database_url, _tables) <= {"alembic_version"}
    await schema.upgrade(database_url)
    assert await _run(database_url, _drift) == []


def test_migrations_are_shipped_inside_the_package() -> None:
    package = files("syncer.migrations")
    assert package.joinpath("env.py").is_file()
    assert package.joinpath("script.py.mako").is_file()
    assert any(entry.name.startswith("0001_") for entry in package.joinpath("versions").iterdir())
