"""Shared test configuration: anyio on asyncio, and fixture plugins per concern."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

pytest_plugins = [
    "pytester",
    "tests.fixtures.databases",
    "tests.fixtures.simulator",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first: under ``make test`` several workers share the suite, and
    a test of many seconds handed out last would run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """A test, or a command it runs in-process, may configure logging for the whole process (the
    demo raises the level to warnings); put it back, so no test depends on which ran before it in
    the same process."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp and async SQLAlchemy are asyncio libraries; syncer runs on asyncio only."""
    return "asyncio"
