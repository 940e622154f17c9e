"""SIGTERM for commands that only read (``plan``): stop at once and exit 143 with one line.

``apply`` has its own, gentler handling (``syncer.apply.stopping``: finish what is in flight).
A read-only command has nothing to finish, so SIGTERM cancels it; without this, asyncio's default
would kill it mid-read or leave ``CancelledError`` tracebacks on stderr.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from syncer.errors import Terminated

T = TypeVar("T")


async def cancelled_by_sigterm(fn: Callable[[], Awaitable[T]]) -> T:
    """``await fn()``, or ``Terminated`` (exit 143) once SIGTERM arrives."""
    result: list[T] = []
    terminated = False
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                nonlocal terminated
                async for _ in signals:
                    terminated = True
                    group.cancel_scope.cancel()
                    return

            group.start_soon(watch)
            result.append(await fn())
            group.cancel_scope.cancel()
    if terminated or not result:
        raise Terminated("terminated by SIGTERM; nothing was changed")
    return result[0]
