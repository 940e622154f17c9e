"""Group commit: callers arriving during a write share the next one; each sees its own failure."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
import pytest

from syncer.apply.groupcommit import GroupCommit

pytestmark = pytest.mark.anyio


async def test_callers_arriving_during_a_write_share_the_next_transaction() -> None:
    written: list[list[int]] = []

    async def write(items: Sequence[int]) -> None:
        for _ in range(3):  # a commit takes a few turns of the event loop
            await anyio.lowlevel.checkpoint()
        written.append(list(items))

    group = GroupCommit[int](write)
    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(group.submit, n)
    assert sorted(n for batch in written for n in batch) == list(range(20))
    assert written[0] == [0]  # the first caller does not wait for company
    assert len(written) <= 3
    assert group.transactions == len(written)


async def test_a_failed_group_is_written_again_one_item_at_a_time() -> None:
    """Only the caller whose item fails alone sees the failure; the others of its group are
    written, each in a transaction of its own."""
    written: list[list[int]] = []

    async def write(items: Sequence[int]) -> None:
        await anyio.lowlevel.checkpoint()
        if 1 in items:
            raise RuntimeError("value too long")
        written.append(list(items))

    group = GroupCommit[int](write)
    failures: list[int] = []

    async def submit(n: int) -> None:
        try:
            await group.submit(n)
        except RuntimeError:
            failures.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(submit, n)
    assert failures == [1]
    assert written == [[0], [2], [3]]
    assert group.transactions == 5  # [0], then [1, 2, 3] failed, then [1], [2] and [3] alone
    await group.submit(9)
    assert written == [[0], [2], [3], [9]]


async def test_with_several_writers_a_caller_finding_one_free_does_not_wait() -> None:
    """Two writers: while one transaction is held open the next caller writes at once; with
    both held, later callers wait and go together in the next group."""
    written: list[list[int]] = []
    hold = anyio.Event()

    async def write(items: Sequence[int]) -> None:
        if {0, 1} & set(items):
            await hold.wait()
        else:
            await anyio.lowlevel.checkpoint()
        written.append(list(items))

    group = GroupCommit[int](write, writers=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(group.submit, 0)
        tg.start_soon(group.submit, 1)
        tg.start_soon(group.submit, 2)
        tg.start_soon(group.submit, 3)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        assert written == []  # 0 and 1 are being written, one transaction each; 2, 3 wait
        hold.set()
    assert sorted(map(sorted, written)) == [[0], [1], [2, 3]]
    assert group.transactions == 3
