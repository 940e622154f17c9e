"""The fallback without headers: additive-increase, multiplicative-decrease pacing on 429s.

Without ``x-ratelimit-*`` headers nothing can be modelled, so the bucket paces itself: one more
request a second per second's worth of successes, half as many on a 429. 429s arriving together
(within the cooldown) are the answers to one burst and count as one cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning


@dataclass(slots=True)
class Aimd:
    """The pacing state of one bucket whose server sends no limits."""

    tuning: Tuning = DEFAULT_TUNING
    active: bool = False
    rate: float = 0.0
    _next: float = -math.inf
    _last_cut: float = -math.inf

    def __post_init__(self) -> None:
        self.rate = self.tuning.aimd_start

    def succeeded(self) -> None:
        self.active = True
        self.rate += 1.0 / self.rate

    def refused(self, now: float) -> None:
        self.active = True
        if now - self._last_cut >= self.tuning.aimd_cooldown:
            self.rate = max(self.tuning.aimd_floor, self.rate / 2.0)
            self._last_cut = now

    def wait(self, now: float) -> float | None:
        """Seconds until the next request may go, or ``None`` (and the slot taken) if it may now."""
        if now < self._next:
            return self._next - now
        self._next = max(now, self._next) + 1.0 / self.rate
        return None

    def pause_after_refusal(self) -> float:
        """How long the whole bucket waits after a 429 when nothing better is known."""
        return 1.0 / max(self.rate, self.tuning.aimd_floor)
