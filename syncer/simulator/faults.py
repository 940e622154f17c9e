"""Seeded fault injection: every request draws its fate from one ``random.Random(seed)``.

Each request takes the same number of draws whatever is enabled, so the n-th request after the
faults were set always meets the same fate, and enabling one fault does not reshuffle another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from syncer.simulator.config import Faults


@dataclass(frozen=True, slots=True)
class Fate:
    delay: float
    """Latency before the request is handled (latency plus jitter)."""
    error_status: int | None
    drop: bool
    """Close the connection without a response."""
    slow: float
    """Extra delay before the response is sent."""
    after_write: bool


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def draw(self) -> Fate:
        f, rng = self.faults, self._rng
        jitter, error_roll, status_roll, drop_roll, slow_roll = (rng.random() for _ in range(5))
        delay = max(0.0, f.latency_seconds + (2 * jitter - 1) * f.jitter_seconds)
        error = None
        if error_roll < f.error_share and f.error_statuses:
            error = f.error_statuses[int(status_roll * len(f.error_statuses))]
        return Fate(
            delay=delay,
            error_status=error,
            drop=error is None and drop_roll < f.drop_share,
            slow=f.slow_seconds if slow_roll < f.slow_share else 0.0,
            after_write=f.after_write,
        )
