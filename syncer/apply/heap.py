"""While a run carries its changes out, the garbage collector leaves the heap the run started
with alone and comes round to the young objects less often.

CPython's full collection walks every tracked object of the process: the modules, the settings,
the plan, the journal's entries. A run allocates for every change (requests, answers, journal
rows), so full passes come back as it goes, each walking all of that again: ~0.15-0.25 s of
CPU per pass at a few thousand changes, several passes a run, one of them often while the
journal enters the plan's changes. ``gc.freeze()`` moves what exists when the run starts into a
permanent generation no pass walks; ``gc.unfreeze()`` at its end gives it back to the collector,
so a cycle among those objects is still collected after the run.

The young passes cost a run too (~4 % of its CPU at the default threshold of 700 allocations):
every change keeps a few dozen tracked objects (a request, its response, tasks, futures, journal
rows) alive for as long as its request is on the wire, so at 700 a pass comes every dozen
changes and walks the objects of every change in flight, which then live on into the middle
generation and are walked there again, only to die moments later. ``YOUNG_THRESHOLD`` lets most
of them die before any pass sees them (the young passes' CPU falls ~5x); a pass then walks at
most that many young objects, well under a millisecond.

Runs may overlap in one process (several firms in one worker): the first to start freezes and
raises the threshold, the last to end unfreezes and puts the threshold back.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

YOUNG_THRESHOLD = 10_000
"""Allocations between young passes while a run is going (CPython's default is 700); never
lowered below what the process set itself."""


class _Freezer:
    def __init__(self) -> None:
        self.runs = 0
        self._thresholds: tuple[int, int, int] = gc.get_threshold()

    @contextmanager
    def frozen(self) -> Iterator[None]:
        if self.runs == 0:
            gc.freeze()
            self._thresholds = young, middle, old = gc.get_threshold()
            gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
        self.runs += 1
        try:
            yield
        finally:
            self.runs -= 1
            if self.runs == 0:
                gc.set_threshold(*self._thresholds)
                gc.unfreeze()


heap_frozen = _Freezer().frozen
"""``with heap_frozen():`` around a run, from the journal's entering its changes to its end."""

P = ParamSpec("P")
T = TypeVar("T")


def frozen_heap(run: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """``run`` (a coroutine function) inside ``heap_frozen`` from its first line to its end."""

    @functools.wraps(run)
    async def frozen_run(*args: P.args, **kwargs: P.kwargs) -> T:
        with heap_frozen():
            return await run(*args, **kwargs)

    return frozen_run
