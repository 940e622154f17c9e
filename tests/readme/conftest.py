"""A migrated SQLite database for the README tests that do not walk through ``db upgrade``."""

from __future__ import annotations

import pytest


@pytest.fixture
def url(migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url
