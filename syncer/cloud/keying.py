"""Which rate limiter a request waits for: one per bucket the server keeps, as configured.

``[cloud.api].ratelimit_keying`` says how the firm's gateway keys its buckets (docs/cloud-api.md
§2), and the client composes ``RateLimiter``s to match, one per bucket:

* ``client``: one limiter for everything (it still notices a per-family split from the headers
  on its own);
* ``session``: one limiter per session of the pool (``cloud.pool_size``), each request waiting
  for its own session's, so N sessions really send N times the rate; ``auth/token`` carries no
  session, and the gateway keys it by the API client, so it has a limiter of its own;
* ``route``: one limiter per route family from the first request, instead of one the limiter
  must first learn to split.

Each limiter is a whole ``RateLimiter`` built by its public constructor: a bucket the server keeps
apart is modelled apart, with its own phase, costs and pauses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from syncer.assumptions import Keying
from syncer.cloud.ratelimit import LimiterStats, RateLimiter

SESSIONLESS: Final = "sessionless"
"""The key of requests without a session (``auth/token``) under ``session`` keying."""

KeyOf = Callable[[str, "int | None"], str]
"""The bucket key of a request from its route family and its session's slot (if any)."""

KEYS: Final[Mapping[Keying, KeyOf]] = {
    "client": lambda family, session: "client",
    "session": lambda family, session: SESSIONLESS if session is None else f"session {session}",
    "route": lambda family, session: family,
}

PARTITIONS: Final[Mapping[Keying, str]] = {"session": "per-session", "route": "per-family"}
"""How ``LimiterStats.partition`` names the split the keying makes (``client``: the limiter's)."""


class Limiters:
    """The rate limiters of one API client, one per bucket key, made on first use."""

    def __init__(self, keying: Keying, make: Callable[[], RateLimiter]) -> None:
        self._keying = keying
        self._key_of = KEYS[keying]
        self._make = make
        self._limiters: dict[str, RateLimiter] = {}

    def __repr__(self) -> str:
        return f"Limiters(keying={self._keying!r}, buckets={sorted(self._limiters)})"

    def pick(self, family: str, session: int | None) -> RateLimiter:
        """The limiter of the bucket a request of ``family`` sent on ``session`` draws from."""
        key = self._key_of(family, session)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = self._make()
        return limiter

    @property
    def stats(self) -> LimiterStats:
        """What the limiters learned, as one client: the rates and bursts of the buckets that
        carry the work add up (a session-less ``auth/token`` bucket carries none of it)."""
        working = [lim.stats for key, lim in self._limiters.items() if key != SESSIONLESS]
        if not working:
            working = [lim.stats for lim in self._limiters.values()]
        if self._keying == "client" and working:
            return working[0]
        return _combined(working, PARTITIONS.get(self._keying, "shared"))


def _combined(parts: list[LimiterStats], partition: str) -> LimiterStats:
    rates = [p.rate for p in parts if p.rate is not None]
    bursts = [p.burst for p in parts if p.burst is not None]
    costs = [p.cost for p in parts if p.cost is not None]
    widths = [p.phase_width for p in parts if p.phase_width is not None]
    pacing = [p.aimd_rate for p in parts if p.aimd_rate is not None]
    return LimiterStats(
        partition=partition,
        rate=sum(rates) if rates else None,
        burst=sum(bursts) if bursts else None,
        cost=max(costs) if costs else None,
        external_rate=sum(p.external_rate for p in parts),
        aimd=any(p.aimd for p in parts),
        phase_width=max(widths) if widths else None,
        aimd_rate=min(pacing) if pacing else None,
    )
