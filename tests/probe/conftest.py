"""Fixtures of the probe tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def url(migrated_sqlite_url: str) -> str:
    """A migrated SQLite database for the runs that follow a probe."""
    return migrated_sqlite_url
