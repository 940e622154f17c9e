"""Fixtures of the store tests: a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.store import db


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    """``database_url`` migrated to the newest revision."""
    await db.upgrade(database_url)
    return database_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database, disposed after the test."""
    engine = db.create_engine(migrated_url)
    yield engine
    await engine.dispose()
