"""Virtual time over a slow network: the simulator's injected latency on the shared clock.

``VirtualClock.run`` lets time stand still while an exchange is on the loopback wire (``busy``).
With latency injected by the simulator, a request spends most of its life asleep at the server,
which is not the wire: ``ServerClock`` is the simulator's view of the shared clock and counts
those sleepers, so the wire is busy while the client has more exchanges open than the server
holds asleep. That is exact as long as no request the client gave up on still sleeps at the
server; ``in_virtual_time`` lets such requests finish after each piece of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from syncer.cloud.pipeline import ClientStats
from tests.cloud.virtual_time import VirtualClock

T = TypeVar("T")

DRAIN_SECONDS = 3.0
"""Virtual time after each piece of work for answers nobody waits for (pages past the end)."""


class ServerClock:
    """The shared virtual clock as the simulator sees it, counting the simulator's sleepers."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self.sleeping = 0

    def now(self) -> float:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        self.sleeping += 1
        try:
            await self._clock.sleep(seconds)
        finally:
            self.sleeping -= 1


async def in_virtual_time(
    clock: VirtualClock,
    server: ServerClock,
    stats: ClientStats,
    work: Callable[[], Awaitable[T]],
) -> tuple[T, float]:
    """Run ``work`` while virtual time passes; (its result, the virtual seconds it took)."""
    results: list[T] = []
    started = clock.now()
    took = 0.0

    async def run() -> None:
        nonlocal took
        results.append(await work())
        took = clock.now() - started

    def on_the_wire() -> bool:
        return stats.in_flight > server.sleeping

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        while not results:
            await clock.run(clock.now() + 1.0, busy=on_the_wire)
    await clock.run(clock.now() + DRAIN_SECONDS)
    return results[0], took
