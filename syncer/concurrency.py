"""A task group that lets a lone exception through as itself.

anyio wraps every exception leaving a task group in an ``ExceptionGroup``, even one raised by
the code inside the ``async with`` while a helper task (a heartbeat, a signal watcher) runs
beside it. The CLI turns a ``SyncerError`` into its exit code (77, 75, 69...), so such an error
must arrive as itself: when a group holds exactly one exception, that exception is re-raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    try:
        async with anyio.create_task_group() as tg:
            yield tg
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
