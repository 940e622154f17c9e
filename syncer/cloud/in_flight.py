"""How many requests to keep in flight: Little's law on the learned rate and measured latency.

To send ``rate`` requests a second when each takes ``latency`` seconds to answer, ``rate x
latency`` requests must be on the wire at any moment. A fixed number is wrong everywhere but at
one latency: 16 in flight at 250 ms allows 64 requests a second whatever the server grants, and
256 in flight at 0 ms reads far past the end of every list. So the target is computed from what
the client knows now, and recomputed as it learns:

* the rate is the limiter's learned request rate (tokens per second over the cost of a request);
* the latency is the family's high percentile (answers slower than the mean must not starve the
  pipe), with ``HEADROOM`` on top so that a few requests always wait at the limiter, ready to go
  the moment it grants (the limiter, not this number, decides *when* a request leaves);
* ``max_in_flight`` is only a safety cap (sockets, server politeness), never the working value.

Before anything is known the target is ``COLD_START``: enough to learn from, little to waste.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from syncer.cloud.latency import LatencyTracker
from syncer.cloud.ratelimit import LimiterStats

HEADROOM = 1.25
"""In flight beyond rate x latency: requests queued at the limiter for its next grant."""
SPARE = 2
"""Added after the headroom, so that at 0 ms there is still one request waiting behind another."""
COLD_START = 4
"""Target while neither the rate nor the latency is known yet."""


def little_target(rate: float | None, latency: float | None, cap: int) -> int:
    """Requests to keep in flight for ``rate`` requests/s answered in ``latency`` s, within
    [1, ``cap``]; ``COLD_START`` while either is unknown."""
    if rate is None or latency is None:
        return max(1, min(cap, COLD_START))
    wanted = math.ceil(rate * latency * HEADROOM) + SPARE
    return max(1, min(cap, wanted))


class InFlightTarget:
    """The current target for one family of one client, from its live limiter and tracker."""

    def __init__(
        self,
        limiter_stats: Callable[[], LimiterStats],
        latencies: LatencyTracker,
        cap: int,
    ) -> None:
        self._limiter_stats = limiter_stats
        self._latencies = latencies
        self.cap = cap

    def for_pages(self, family: str, *, needed: bool = False) -> int:
        """Pages of one list to keep in flight: Little's law, as each page asked for past the end
        is a token spent for nothing; but at least what the limiter hands out at once. Where
        every page the window may launch is ``needed`` (a list told its length, within the pages
        that length takes), none is spent for nothing: then at least the bucket's burst too, as
        for writes. Little's law alone held a read that the full bucket holds to rate x latency
        pages at first, the rest waiting a round trip for their answers (at 200/s and 250 ms,
        79 of 101 pages went at once, the read took 1.8x its bound)."""
        stats = self._limiter_stats()
        figures = self._latencies.of(family)
        latency = None if figures is None else figures.high
        little = little_target(_request_rate(stats), latency, self.cap)
        at_once = max(_batch_requests(stats), _burst_requests(stats) if needed else 0)
        return max(little, min(at_once, self.cap))

    def for_writes(self) -> int:
        """Changes to keep in flight (of every kind, planned for the slowest family): Little's
        law, and at least the bucket's burst, so that a full bucket is spent at once. A change
        in flight is cheap while it waits at the limiter; a token left in the bucket is not."""
        stats = self._limiter_stats()
        figures = self._latencies.overall()
        latency = None if figures is None else figures.high
        little = little_target(_request_rate(stats), latency, self.cap)
        return max(little, min(_burst_requests(stats), self.cap))


def _burst_requests(stats: LimiterStats) -> int:
    """Requests the full bucket holds."""
    return 0 if stats.burst is None else math.floor(stats.burst / (stats.cost or 1.0))


def _batch_requests(stats: LimiterStats) -> int:
    """Requests the limiter hands out at once, where it sends each refill as one batch."""
    return 0 if stats.batch is None else math.floor(stats.batch / (stats.cost or 1.0))


def _request_rate(stats: LimiterStats) -> float | None:
    return None if stats.rate is None else stats.rate / (stats.cost or 1.0)
