"""JSON progress lines: periodic, with done and total per kind and the rate."""

from __future__ import annotations

from structlog.testing import capture_logs

from syncer import logs
from syncer.clock import ManualClock
from syncer.progress import JsonProgress


def test_json_progress_is_logged_at_most_every_interval() -> None:
    logs.configure("info", "json")  # an earlier test (the demo) may have left a higher level
    clock = ManualClock()
    sink = JsonProgress("apply progress", clock, interval=5.0)
    with capture_logs() as logged:
        sink.add_total("users", 10)
        sink.advance("users", 4)
        clock.advance(5.0)
        sink.advance("users", 6)
        clock.advance(1.0)
        sink.advance("users")
    assert len(logged) == 1
    line = logged[0]
    assert line["event"] == "apply progress"
    assert line["done"] == {"users": 10}
    assert line["total"] == {"users": 10}
    assert line["rate"] == 2.0
