"""A worker collects cyclic garbage less often than Python's default, and never walks again what
start-up made, however many jobs begin and end meanwhile (``queue.worker.tuned_collector``)."""

from __future__ import annotations

import gc

from syncer.apply.heap import heap_frozen
from syncer.queue.worker import COLLECTOR_THRESHOLDS, tuned_collector


def test_the_worker_collects_less_often_and_keeps_start_up_frozen_between_jobs() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with tuned_collector():
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] > before[0]
        start_up = gc.get_freeze_count()
        assert start_up > frozen
        with heap_frozen():  # a job's run
            assert gc.get_threshold()[0] == COLLECTOR_THRESHOLDS[0]  # not lowered by the run
        assert gc.get_freeze_count() >= start_up  # the job's end unfroze nothing
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() < start_up  # given back when the worker stops
