"""The Cloud API client: sessions, one shared adaptive rate limiter, transport, typed operations.

The names below are the package's surface for the rest of syncer. ``syncer.probe`` is the
exception that reaches past it: it studies the wire itself (headers, the pipeline of senders,
the token issuer), which no other caller should need (``tests/test_layout.py`` lists it).
"""

from syncer.cloud.client import CloudClient
from syncer.cloud.errors import ApiError, Conflict, NotFound, OutcomeUnknown, Rejected
from syncer.cloud.latency import WireFigures
from syncer.cloud.ratelimit import LimiterStats
from syncer.cloud.reader import PageCallback, read_children, read_cloud_state
from syncer.cloud.shapes import field_of
from syncer.cloud.transport import SharedHttp

__all__ = [
    "ApiError",
    "CloudClient",
    "Conflict",
    "LimiterStats",
    "NotFound",
    "OutcomeUnknown",
    "PageCallback",
    "Rejected",
    "SharedHttp",
    "WireFigures",
    "field_of",
    "read_children",
    "read_cloud_state",
]
