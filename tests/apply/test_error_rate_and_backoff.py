"""The error-rate guard threshold and the retry schedule."""

from __future__ import annotations

from datetime import timedelta

from syncer.apply.backoff import next_delay
from syncer.apply.error_rate import ErrorRateGuard


def test_guard_waits_for_the_minimum_number_of_attempts() -> None:
    guard = ErrorRateGuard(threshold=0.4, min_attempts=50)
    guard.record(failed=True, count=49)
    assert not guard.tripped
    guard.record(failed=True)
    assert guard.tripped


def test_guard_trips_only_above_the_threshold() -> None:
    guard = ErrorRateGuard(threshold=0.4, min_attempts=50)
    guard.record(failed=True, count=40)
    guard.record(failed=False, count=60)
    assert not guard.tripped
    guard.record(failed=True)
    assert guard.tripped
    assert "41 of 101" in guard.describe()


def test_retry_delay_grows_then_stays_daily() -> None:
    assert [next_delay(n) for n in (1, 2, 3, 4, 9)] == [
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(hours=24),
        timedelta(hours=24),
        timedelta(hours=24),
    ]
