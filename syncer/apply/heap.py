"""While a run carries its changes out, the garbage collector's full passes skip the heap the
run started with.

CPython's full collection walks every tracked object of the process: the modules, the settings,
the plan, the journal's entries. A run allocates for every change (requests, answers, journal
rows), so full passes come back as it goes, each walking all of that again: ~0.15-0.25 s of
CPU per pass at a few thousand changes, several passes a run. ``gc.freeze()`` moves what exists
when the run starts into a permanent generation no pass walks; ``gc.unfreeze()`` at its end
gives it back to the collector, so a cycle among those objects is still collected after the run.
Runs may overlap in one process (several firms in one worker): the first to start freezes, the
last to end unfreezes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _Freezer:
    def __init__(self) -> None:
        self.runs = 0

    @contextmanager
    def frozen(self) -> Iterator[None]:
        if self.runs == 0:
            gc.freeze()
        self.runs += 1
        try:
            yield
        finally:
            self.runs -= 1
            if self.runs == 0:
                gc.unfreeze()


heap_frozen = _Freezer().frozen
"""``with heap_frozen():`` around the part of a run that sends its changes."""
