"""Timestamps for bookkeeping rows: always UTC-aware, whatever the database hands back.

SQLite stores ``DateTime(timezone=True)`` values without their zone, so a value read back is naive;
every comparison with "now" goes through ``as_utc`` to stay correct on both dialects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syncer.clock import Clock


def utc_now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now(), UTC)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
