"""Fixtures of the store tests: a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.store import db


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database, disposed after the test."""
    engine = db.create_engine(migrated_database_url)
    yield engine
    await engine.dispose()
