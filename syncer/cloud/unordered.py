"""Reading a list whose order is not stable across pages (``[cloud.api] stable_order = false``).

When a firm's list keeps no order from one request to the next, two pages may overlap, and
whatever they overlap by is missing somewhere else: a read of a list of N objects still returns N
items in all, some twice and as many not at all. So the number of items a read returns is the
list's length, and the distinct CWGuids among them say how many were missed. The list is read
again, each read's objects added to those already seen, until every one of them was seen, at most
``MAX_READS`` times; a list still missing objects then ends the run as a broken promise (exit
76): planning on a partial list would create objects that already exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from syncer.cloud.shapes import broken
from syncer.state import RemoteObject

T = TypeVar("T")

MAX_READS = 5
"""Whole reads of one list before giving up on seeing all of it."""


def identity_of(item: object) -> str:
    """What tells two items of a list apart: an object's CWGuid, a member's CWGuid itself."""
    found = item.cwguid if isinstance(item, RemoteObject) else str(item)
    return found.lower()


async def read_whole(read_once: Callable[[], Awaitable[list[T]]], where: str) -> list[T]:
    """Every item of the list ``read_once`` reads, each once, however its pages were ordered."""
    seen: dict[str, T] = {}
    for _ in range(MAX_READS):
        items = await read_once()
        for item in items:
            seen.setdefault(identity_of(item), item)
        if len(seen) >= len(items):
            return list(seen.values())
    raise broken(
        where,
        f"a list without a stable order: {len(seen)} of its {len(items)} objects seen in "
        f"{MAX_READS} reads",
    )
