"""Honest figures from the simulator's per-second counts and the bucket's true schedule.

* Every second of the run counts, also those in which nothing was allowed (the simulator records
  only seconds that saw requests, so they must be filled in).
* Each second counts at most what the bucket allowed in it: tokens a strategy left unused early
  and spent later are not utilisation twice.
* The ideal makespan is the bucket's own schedule (``bench.schedule``): a full bucket at the
  first request, then our share of each refill at each whole second of the server's clock (the
  rate doubling where the rate changes), so the N-th request can go no earlier than the boundary
  where the tokens given so far first cover N requests. No strategy can beat it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.schedule import Schedule


@dataclass(frozen=True)
class Usage:
    utilisation: float
    worst_second: float
    seconds: int
    of_left: float
    """Our requests from the first second to the last (partial) one over what the bucket left
    us in them (the full bucket at the start, then each refill less the neighbour's draws),
    summed rather than capped second by second: a sender that keeps what a neighbour's quiet
    second left in the bucket and spends it in a busy one loses nothing, which the per-second
    cap counts as waste where a neighbour draws at random."""


def usage(per_second: list[dict[str, Any]], schedule: Schedule, first: int, last: int) -> Usage:
    """Utilisation over the whole seconds strictly between ``first`` and ``last`` (the first has
    the initial burst, the last is cut short by the end of the run), each capped at what the
    bucket allowed in it, counting seconds without any traffic as zero."""
    allowed = {s["second"]: s["allowed"] for s in per_second}
    middle = range(first + 1, last) if last - first >= 2 else range(first, last + 1)
    ratios = []
    for second in middle:
        cap = schedule.requests_in(second)
        ratios.append(min(allowed.get(second, 0), cap) / cap if cap > 0 else 1.0)
    # The first second counts here, with the full bucket the run starts on: its tokens may be
    # spent in any later second.
    window = range(first, max(last, first + 1))
    ours = sum(allowed.get(second, 0) for second in window)
    left = (schedule.capacity - schedule.neighbour(first)) / schedule.cost
    left += sum(schedule.requests_in(second) for second in window[1:])
    of_left = min(1.0, ours / left) if left > 0 else 1.0
    return Usage(statistics.fmean(ratios), min(ratios), len(ratios), of_left)
