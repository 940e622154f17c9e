"""A run's starting heap is out of the collector's passes while it runs, and back after it."""

from __future__ import annotations

import gc

import pytest

from syncer.apply.heap import heap_frozen


def test_the_heap_is_frozen_while_any_run_is_inside_and_given_back_after_the_last() -> None:
    assert gc.get_freeze_count() == 0
    with heap_frozen():
        assert gc.get_freeze_count() > 0
        with heap_frozen():  # a second run of the same process, overlapping
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0, "the first run is still going"
    assert gc.get_freeze_count() == 0


def test_a_run_that_fails_gives_the_heap_back() -> None:
    with pytest.raises(RuntimeError), heap_frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
