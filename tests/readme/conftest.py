"""A migrated SQLite database for the README tests that do not walk through ``db upgrade``."""

from __future__ import annotations

import pytest

from syncer.store.db import upgrade


@pytest.fixture
async def url(sqlite_url: str) -> str:
    await upgrade(sqlite_url)
    return sqlite_url
