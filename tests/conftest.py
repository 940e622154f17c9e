"""Shared test configuration: anyio on asyncio, and fixture plugins per concern."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.simulator",
]


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp and async SQLAlchemy are asyncio libraries; syncer runs on asyncio only."""
    return "asyncio"
