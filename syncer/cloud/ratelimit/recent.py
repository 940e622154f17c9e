"""The responses a bucket's model keeps: the recent ones, in the order they arrive.

Nearly every answer asks something of them (which answers came within a moment, how short the
wire is, whether one came back quickly of late), so what is asked often is kept up to date as
they arrive rather than searched for: the shortest and longest round trips, and when an answer
last came back quicker than ``Tuning.batch_round_trip``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from syncer.cloud.ratelimit.observation import RECEIVED, Observation
from syncer.cloud.ratelimit.tuning import Tuning


@dataclass(eq=False, slots=True)
class RecentAnswers:
    """The last ``Tuning.recent`` responses of one bucket, oldest first."""

    tuning: Tuning
    _kept: deque[Observation] = field(init=False)
    _round_trips: tuple[float, float] = (math.inf, 0.0)
    _quick_at: float = -math.inf
    _by_remaining: dict[int, Observation] = field(default_factory=dict)
    """The last successful answer to show each ``remaining`` (at most one per token of the
    bucket: kept apart from the last ``Tuning.recent``, which at 200/s reach back a third of a
    second only)."""

    def __post_init__(self) -> None:
        self._kept = deque(maxlen=self.tuning.recent)

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._kept)

    def remember(self, seen: Observation) -> None:
        """Keep a response, in the order they arrive (so ``recv`` never goes back, which the
        bisections rely on); the round trips are searched again only when the answer that leaves
        the window held one of them."""
        kept = self._kept
        leaving = kept[0] if len(kept) == kept.maxlen else None
        kept.append(seen)
        trip = seen.recv - seen.sent
        shortest, longest = self._round_trips
        if len(kept) == 1:
            self._round_trips = trip, trip
        elif leaving is not None and leaving.recv - leaving.sent in (shortest, longest):
            trips = [each.recv - each.sent for each in kept]
            self._round_trips = min(trips), max(trips)
        else:
            self._round_trips = min(shortest, trip), max(longest, trip)

    def twin(self, seen: Observation) -> Observation | None:
        """The last successful answer that showed ``seen``'s ``remaining`` and was still on its
        way back when ``seen``'s request was sent; ``seen`` (successful too) becomes the last to
        show it. Within one server second every request handled takes a token, so the two were
        handled in different seconds: a boundary came while both were on the wire."""
        level = round(seen.remaining)
        other = self._by_remaining.get(level)
        self._by_remaining[level] = seen
        return other if other is not None and other.recv > seen.sent else None

    def within(self, after: float, until: float) -> Iterator[Observation]:
        """The responses received in ``(after, until]``, oldest first, found by bisection."""
        kept = self._kept
        first = bisect_right(kept, after, key=RECEIVED)
        last = bisect_right(kept, until, lo=first, key=RECEIVED)
        return islice(kept, first, last)

    def last_by(self, moment: float) -> Observation | None:
        """The last response received by ``moment`` (``None`` if none kept reaches back)."""
        answered = bisect_right(self._kept, moment, key=RECEIVED)
        return self._kept[answered - 1] if answered else None

    def timed(self, sent: float, now: float) -> None:
        """Note any answer's round trip, whichever model granted it and whether or not it is
        kept, for ``quick_within``."""
        if now - sent < self.tuning.batch_round_trip:
            self._quick_at = now

    def quick_within(self, seconds: float, now: float) -> bool:
        """Whether an answer came back quicker than ``Tuning.batch_round_trip`` in the last
        ``seconds`` (the limiter's choice between batches and credits)."""
        return now - self._quick_at < seconds

    def shortest_round_trip(self) -> float:
        """The shortest recent round trip (infinite before any)."""
        return self._round_trips[0]

    def round_trips(self) -> tuple[float, float]:
        """The shortest and longest recent round trips (infinite and 0 before any)."""
        return self._round_trips
