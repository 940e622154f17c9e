"""The latency tracker's figures follow every sample, though they are computed once per sample."""

from __future__ import annotations

from syncer.cloud.latency import LatencyFigures, LatencyTracker


def test_figures_asked_again_after_a_sample_include_it() -> None:
    tracker = LatencyTracker()
    for _ in range(10):
        tracker.record("entities", 0.010)
    before = tracker.of("entities")
    assert before == LatencyFigures(0.010, 0.010, 10)
    assert tracker.overall() == before

    tracker.record("entities", 0.500)
    tracker.record("entities", 0.500)

    after = tracker.of("entities")
    assert after is not None
    assert after.samples == 12
    assert after.high == 0.500
    assert after.smoothed > before.smoothed
    assert tracker.overall() == after
    assert tracker.summary()["entities"]["samples"] == 12


def test_a_new_family_is_announced_once_with_its_first_sample_counted() -> None:
    tracker = LatencyTracker()
    seen: list[object] = []
    with tracker.listening(lambda: seen.append(tracker.of("users"))):
        tracker.record("users", 0.2)
        tracker.record("users", 0.4)
    assert seen == [LatencyFigures(0.2, 0.2, 1)]
