"""Tolerant parsing of the rate-limit headers the API sends on every response.

The gateway's header names may arrive in any letter case and any value may be missing or garbled
(docs/cloud-api.md §2); a parse problem must never break a request, so every field is optional
and a value that does not parse is treated as absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from multidict import CIMultiDict, CIMultiDictProxy

from syncer.assumptions import RateLimitHeaders

DOCUMENTED = RateLimitHeaders()
"""The names docs/cloud-api.md §2 documents; a firm's own are ``[cloud.api.ratelimit_headers]``."""
RETRY_AFTER = "retry-after"


@dataclass(frozen=True, slots=True)
class RateHeaders:
    """The limiter's view of one response. ``None`` means the header was absent or unreadable."""

    replenish_rate: float | None = None
    burst_capacity: float | None = None
    requested: float | None = None
    remaining: float | None = None
    retry_after: float | None = None

    @property
    def has_limits(self) -> bool:
        """True when the bucket can be modelled from this response (rate and remaining known)."""
        return self.replenish_rate is not None and self.remaining is not None

    @property
    def failed_open(self) -> bool:
        """The server's limiter store failed and let the request through (``remaining = -1``)."""
        return self.remaining is not None and self.remaining < 0


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_rate_headers(
    headers: Mapping[str, str], names: RateLimitHeaders = DOCUMENTED
) -> RateHeaders:
    """Read the rate-limit headers under ``names`` (and ``Retry-After`` in seconds) in any
    letter case. A response's own headers (aiohttp's case-insensitive mapping, first value of a
    repeated name) are looked up as they are; any other mapping through a lower-cased copy,
    built once per response, not once per request of a run."""
    found: Mapping[str, str] = (
        headers
        if isinstance(headers, CIMultiDictProxy | CIMultiDict)
        else {name.lower(): value for name, value in headers.items()}
    )
    get = found.get
    retry_after = _number(get(RETRY_AFTER))
    return RateHeaders(
        replenish_rate=_number(get(names.replenish_rate.lower())),
        burst_capacity=_number(get(names.burst_capacity.lower())),
        requested=_number(get(names.requested_tokens.lower())),
        remaining=_number(get(names.remaining.lower())),
        retry_after=None if retry_after is None or retry_after < 0 else retry_after,
    )
