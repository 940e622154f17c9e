"""Group commit: many callers' small writes in one transaction, each caller still waiting for it.

The journal's promise is per change (the intent is durable before the request leaves; the result,
id map and status land together), but a transaction per change costs a commit and a dozen round
trips to the database thread each, and caps a process near 100 changes a second. Callers that
arrive while a transaction is being written queue up; when it commits, everything queued goes in
the next one. Nobody waits for a timer: one caller alone is written at once, and under load the
batches grow by themselves to what arrived during the previous commit.

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
    transaction, not per caller: most callers of a busy run wait)."""

    items: list[T] = field(default_factory=list)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Submit items; ``write`` receives everything submitted meanwhile, in submission order."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: _Batch[T] | None = None
        self._writing = False
        self.transactions = 0
        """Transactions written so far (items per transaction show how well writes group)."""

    async def submit(self, item: T) -> None:
        """Return once ``item`` is committed; raise what its transaction raised."""
        if self._queue is None:
            self._queue = _Batch()
        batch = self._queue
        batch.items.append(item)
        if self._writing:
            await batch.done.wait()
        else:
            await self._write_until_empty()
        if batch.error is not None:
            raise batch.error

    async def _write_until_empty(self) -> None:
        self._writing = True
        try:
            while self._queue is not None:
                batch, self._queue = self._queue, None
                with anyio.CancelScope(shield=True):
                    try:
                        await self._write(batch.items)
                    except Exception as exc:  # every caller of the batch sees its failure
                        batch.error = exc
                self.transactions += 1
                batch.done.set()
        finally:
            self._writing = False
