"""A run's starting heap is out of the collector's passes while it runs, and back after it; its
young passes come less often meanwhile."""

from __future__ import annotations

import gc

import pytest

from syncer.apply.heap import YOUNG_THRESHOLD, frozen_heap, heap_frozen


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


def test_young_passes_come_less_often_while_a_run_is_inside_and_as_before_after_the_last() -> None:
    before = gc.get_threshold()
    with heap_frozen():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        with heap_frozen():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD, "the first run is still going"
    assert gc.get_threshold() == before


def test_a_process_that_set_a_higher_threshold_keeps_it() -> None:
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD * 2, *before[1:])
    try:
        with heap_frozen():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    finally:
        gc.set_threshold(*before)


@pytest.mark.anyio
async def test_a_run_made_with_frozen_heap_is_frozen_from_its_first_line_to_its_end() -> None:
    seen: list[tuple[int, int]] = []

    @frozen_heap
    async def run(fail: bool) -> str:
        seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
        if fail:
            raise RuntimeError("boom")
        return "done"

    before = gc.get_threshold()
    assert await run(False) == "done"
    with pytest.raises(RuntimeError):
        await run(True)
    assert all(frozen > 0 and young == max(before[0], YOUNG_THRESHOLD) for frozen, young in seen)
    assert len(seen) == 2
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, before)
