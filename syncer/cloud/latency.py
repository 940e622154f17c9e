"""How long the API takes to answer, per route family, measured from the responses themselves.

Latency is what turns a rate into a number of requests in flight (Little's law: in flight =
rate x latency), so the client needs an estimate that follows the server as it slows down and
speeds up. Each family (``entities``, ``users``...) keeps a smoothed estimate (an exponentially
weighted mean: quick to follow, calm under jitter) and a high percentile over its recent answers
(what sizing in flight needs: a window sized on the mean starves whenever answers come late).

``Timed`` is the sender layer that measures: it sits right above the HTTP exchange, below the rate
limiter, so a wait for tokens never counts as latency.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from syncer.clock import Clock
from syncer.cloud.pipeline import ApiRequest, ApiResponse, Sender

SMOOTHING = 0.125
"""Weight of a new sample in the smoothed estimate (TCP's choice for its round-trip time)."""
RECENT = 64
"""Samples kept per family for the high percentile: a few seconds of traffic at any rate."""
HIGH_PERCENTILE = 0.9


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """One family's latency in seconds, for logs, run history and metrics."""

    smoothed: float
    high: float
    samples: int

    def as_millis(self) -> dict[str, float | int]:
        return {
            "smoothed_ms": round(self.smoothed * 1000, 1),
            "p90_ms": round(self.high * 1000, 1),
            "samples": self.samples,
        }


@dataclass(slots=True)
class _Family:
    smoothed: float | None = None
    samples: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))
    known: LatencyFigures | None = None
    """``figures()`` since the last sample: asked before every change, sorted once per sample."""

    def add(self, seconds: float) -> None:
        self.smoothed = (
            seconds
            if self.smoothed is None
            else self.smoothed + SMOOTHING * (seconds - self.smoothed)
        )
        self.samples += 1
        self.recent.append(seconds)
        self.known = None

    def figures(self) -> LatencyFigures | None:
        if self.smoothed is None:
            return None
        if self.known is None:
            ordered = sorted(self.recent)
            high = ordered[min(len(ordered) - 1, math.ceil(HIGH_PERCENTILE * len(ordered)) - 1)]
            self.known = LatencyFigures(self.smoothed, high, self.samples)
        return self.known


@dataclass(frozen=True, slots=True)
class WireFigures:
    """What a client measured of the network, for the run row, ``syncer runs`` and metrics."""

    latency: Mapping[str, Mapping[str, float | int]] = field(default_factory=dict)
    """Per route family: ``smoothed_ms``, ``p90_ms``, ``samples``."""
    pages_past_end: int | None = None


class LatencyTracker:
    """Latency per route family, learned from every answered request of one client."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}
        self._listeners: set[Callable[[], None]] = set()

    def record(self, family: str, seconds: float) -> None:
        known = self._families.get(family)
        first = known is None
        if known is None:
            known = self._families[family] = _Family()
        known.add(max(0.0, seconds))
        if first:
            for listener in list(self._listeners):
                listener()

    @contextmanager
    def listening(self, listener: Callable[[], None]) -> Iterator[None]:
        """Call ``listener`` when a family answers for the first time, while inside: a window
        sized before anything was known opens as soon as the first answer (the token's) teaches
        the rate and the latency. Later changes reach a window with its own pages' answers."""
        self._listeners.add(listener)
        try:
            yield
        finally:
            self._listeners.discard(listener)

    def of(self, family: str) -> LatencyFigures | None:
        """The family's figures; those of every family together while it has none of its own."""
        own = self._families.get(family)
        if own is not None and own.smoothed is not None:
            return own.figures()
        return self.overall()

    def overall(self) -> LatencyFigures | None:
        """The slowest family's figures: what sizing for mixed traffic must plan for."""
        known = [f for f in (family.figures() for family in self._families.values()) if f]
        return max(known, key=lambda f: f.high, default=None)

    def summary(self) -> dict[str, dict[str, float | int]]:
        """Per family, in milliseconds: the shape stored with the run and shown by ``runs``."""
        return {
            name: figures.as_millis()
            for name, family in sorted(self._families.items())
            if (figures := family.figures()) is not None
        }


class Timed:
    """Measures each exchange that got an answer (any status) into the tracker."""

    def __init__(self, inner: Sender, clock: Clock, tracker: LatencyTracker) -> None:
        self._inner = inner
        self._clock = clock
        self._tracker = tracker

    async def send(self, request: ApiRequest) -> ApiResponse:
        started = self._clock.monotonic()
        response = await self._inner.send(request)
        self._tracker.record(request.family, self._clock.monotonic() - started)
        return response
