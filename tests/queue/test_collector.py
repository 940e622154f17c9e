"""A worker collects cyclic garbage less often than Python's default, and never walks again what
start-up made (``queue.worker.tune_collector``)."""

from __future__ import annotations

import gc

from syncer.queue.worker import COLLECTOR_THRESHOLDS, tune_collector


def test_the_worker_collects_less_often_and_freezes_what_start_up_made() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    try:
        tune_collector()
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
