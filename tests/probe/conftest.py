"""Fixtures of the probe tests."""

from __future__ import annotations

import pytest

from syncer.store.db import upgrade


@pytest.fixture
async def url(sqlite_url: str) -> str:
    """A migrated SQLite database for the runs that follow a probe."""
    await upgrade(sqlite_url)
    return sqlite_url
