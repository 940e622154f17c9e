"""SIGINT and SIGTERM: take no new work, let requests in flight finish, exit cleanly.

One process may run several firms at once, each with its own scheduler, but a signal can have
only one handler; so the command opens one ``watch_stop_signals`` and every run subscribes its
scheduler's ``stop`` to it for as long as it executes. A signal that arrives while no run is
executing (Cloud still being read) ends the command at once: nothing is in flight.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio

from syncer.concurrency import task_group
from syncer.errors import Interrupted, SyncerError, Terminated
from syncer.logs import get_logger

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_ENDINGS: dict[signal.Signals, tuple[type[SyncerError], str]] = {
    signal.SIGINT: (Interrupted, "interrupted"),
    signal.SIGTERM: (Terminated, "terminated"),
}
"""How a stop signal ends the command when nothing is executing (exit 130 / 143)."""

log = get_logger(__name__)


class StopRequests:
    """The stop signal received (if any) and the callbacks to call when one arrives."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._callbacks: list[Callable[[], None]] = []

    @contextmanager
    def subscribed(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` on a stop signal while inside the block (at once if one came)."""
        if self.received is not None:
            callback()
        self._callbacks.append(callback)
        try:
            yield
        finally:
            self._callbacks.remove(callback)

    def deliver(self, signum: signal.Signals) -> None:
        """Stop the runs that are executing; with none (still reading Cloud, say) there is
        nothing in flight to finish, so the command ends at once as the signal asks."""
        if self.received is None:
            self.received = signum
        if not self._callbacks:
            stopped, verb = _ENDINGS[signum]
            raise stopped(f"{verb} by {signum.name} while reading; nothing was changed")
        log.warning("stopping: no new work; finishing requests in flight", signal=signum.name)
        for callback in list(self._callbacks):
            callback()


@asynccontextmanager
async def watch_stop_signals() -> AsyncIterator[StopRequests]:
    """Handle SIGINT/SIGTERM for the duration of the block (the main thread only)."""
    stops = StopRequests()

    async def watch() -> None:
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            async for signum in signals:
                stops.deliver(signum)

    async with task_group() as tg:
        tg.start_soon(watch)
        try:
            yield stops
        finally:
            tg.cancel_scope.cancel()
