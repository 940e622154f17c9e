"""Apply: carry a Plan out against Cloud, journaled, resumable, never creating anything twice.

The pieces each have one job: ``lock`` keeps one run per firm, ``journal`` records intent before
a request and results after it, ``recovery`` settles what a dead run left open, ``backoff`` holds
back keys the API keeps rejecting, ``error_rate`` stops a run that mostly fails, ``scheduler``
runs independent work in parallel in dependency order, ``link_batches`` groups assignment changes
into one request per parent, ``operations`` turns a change into requests, and ``engine`` puts
them together; ``heap`` keeps the garbage collector off the heap a run starts with. Opening a
firm and planning is the use case's job (``syncer.usecases``).
"""

from syncer.apply.engine import ApplyResult, execute
from syncer.apply.heap import heap_frozen
from syncer.apply.lock import RunLock
from syncer.apply.outcome import ChangeStatus
from syncer.apply.recovery import recover
from syncer.apply.stopping import STOP_SIGNALS, StopRequests, watch_stop_signals

__all__ = [
    "STOP_SIGNALS",
    "ApplyResult",
    "ChangeStatus",
    "RunLock",
    "StopRequests",
    "execute",
    "heap_frozen",
    "recover",
    "watch_stop_signals",
]
