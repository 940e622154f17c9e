"""Group commit: many callers' small writes in one transaction, each caller still waiting for it.

The journal's promise is per change (the intent is durable before the request leaves; the result,
id map and status land together), but a transaction per change costs a commit and a dozen round
trips to the database thread each, and caps a process near 100 changes a second. Callers that
arrive while a transaction is being written queue up; when it commits, everything queued goes in
the next one. Nobody waits for a timer: one caller alone is written at once, and under load the
batches grow by themselves to what arrived during the previous commit. With ``writers`` above
one, that many transactions may be in flight at once (a caller finding one free starts it): on a
busy event loop a transaction's every round trip waits a turn of the loop, and one transaction
at a time for a whole process made each write wait for a second or more.

A group whose transaction fails is written again one item at a time, so each caller sees only
its own item's failure: the callers of one group may be different runs (``journal_writes``), and
one run's bad row must not fail the others' writes.

A write is shielded from cancellation: a caller cancelled at shutdown must not take the other
callers' writes down with it, nor leave them waiting forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass(eq=False)
class _Batch(Generic[T]):
    """The items of one transaction and the one event all their callers wait on (an event per
    transaction, not per caller: most callers of a busy run wait), with each item's error."""

    items: list[T] = field(default_factory=list)
    done: anyio.Event = field(default_factory=anyio.Event)
    errors: dict[int, BaseException] = field(default_factory=dict)
    """Errors by the item's place in ``items``."""


class GroupCommit(Generic[T]):
    """Submit items; ``write`` receives everything submitted meanwhile, in submission order."""

    def __init__(
        self, write: Callable[[Sequence[T]], Awaitable[None]], *, writers: int = 1
    ) -> None:
        self._write = write
        self._writers = writers
        self._queue: _Batch[T] | None = None
        self._writing = 0
        """Transactions being written now."""
        self.transactions = 0
        """Transactions written so far (items per transaction show how well writes group)."""

    async def submit(self, item: T) -> None:
        """Return once ``item`` is committed; raise what its transaction raised."""
        if self._queue is None:
            self._queue = _Batch()
        batch = self._queue
        place = len(batch.items)
        batch.items.append(item)
        if self._writing >= self._writers:
            await batch.done.wait()
        else:
            await self._write_until_empty()
        error = batch.errors.get(place)
        if error is not None:
            raise error

    async def _write_until_empty(self) -> None:
        self._writing += 1
        try:
            while self._queue is not None:
                batch, self._queue = self._queue, None
                with anyio.CancelScope(shield=True):
                    await self._write_batch(batch, range(len(batch.items)))
                batch.done.set()
        finally:
            self._writing -= 1

    async def _write_batch(self, batch: _Batch[T], places: range) -> None:
        """Write the items at ``places`` in one transaction; failed, each again alone (one
        caller's item is then the only one failing, with its own error)."""
        try:
            await self._write(batch.items[places.start : places.stop])
        except Exception as exc:
            if len(places) == 1:
                batch.errors[places.start] = exc
            else:
                for place in places:
                    await self._write_batch(batch, range(place, place + 1))
        finally:
            self.transactions += 1
