"""One adaptive rate limiter per API client, shared by every worker and every session.

The server runs Spring Cloud Gateway's token bucket (docs/cloud-api.md §2): ``rate`` tokens are
added at each whole second of the *server's* clock, up to ``capacity``; a request costing
``requested`` tokens passes when enough are left and is refused with 429 otherwise. Each response
reports the limits and what remained. The limiter keeps a model of that bucket on our own
monotonic clock and hands out tokens from the model, so workers wait *before* sending instead of
being refused.

Where the bucket holds more than a refill, requests are paced instead: the burst is spent, then
requests go evenly at the rate other programs leave, above a floor of tokens (``pacing``).

One idea per module: ``pacing`` (the paced model: mean level, floor, others' measured rate),
``readings`` (the answers it keeps and the lowest of them),
``batches`` (on a slow wire, each refill as one batch, sent when it lands whole), ``phase`` (where
the server's second begins), ``circle`` (the circle of one second), ``bucket`` (the model of
one bucket and its bookkeeping rules), ``credits`` (how credits and responses move the model),
``partition`` (one bucket or one per family), ``aimd`` (pacing without headers), ``tuning`` (every
constant, in one frozen value) and ``limiter`` (the ``RateLimiter`` that composes them).
"""

from syncer.cloud.ratelimit.bucket import Grant
from syncer.cloud.ratelimit.limiter import LimiterStats, RateLimiter
from syncer.cloud.ratelimit.partition import SHARED
from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning

__all__ = ["DEFAULT_TUNING", "SHARED", "Grant", "LimiterStats", "RateLimiter", "Tuning"]
