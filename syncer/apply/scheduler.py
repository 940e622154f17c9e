"""Run jobs in dependency order, independent ones in parallel, on a fixed pool of workers.

A job names the tokens it ``requires`` and the tokens it ``provides`` (a create provides "this
object exists"; a removal batch provides "this object has no more links to drop"). A job is ready
when every provider of every token it requires has finished; it is skipped, not run, when one of
them failed, since its request would be refused or would act on the wrong object. Ready jobs go
through a memory stream to at most ``workers`` tasks, so at most that many requests are in flight
and the rest wait in order. Of those workers only ``target()`` run a job at a time: the number the
client derives from the learned rate and the measured latency, asked again before each job, so
the work in flight follows the server mid-run while ``workers`` stays the safety cap.

Worker tasks are started as ready jobs find none free, up to ``target()``: a firm paced at 20
requests a second keeps one or two busy, and starting ``max_in_flight`` (256 by default) tasks
for every run and every recovery cost a worker process carrying 50 firms a sixth of its CPU.

``stop`` takes no new work: jobs not yet started are left alone (their journal rows stay
``pending``), jobs in flight run to their end so their outcome is recorded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from syncer.concurrency import task_group


@dataclass(eq=False)
class Job:
    run: Callable[[], Awaitable[bool]]
    """Do the work; True when it succeeded."""
    skip: Callable[[], Awaitable[None]]
    """Record that the job will not run because something it requires failed."""
    requires: frozenset[Hashable] = frozenset()
    provides: frozenset[Hashable] = frozenset()
    _waiting_on: int = field(default=0, init=False)


class Scheduler:
    """Runs one set of jobs; built before the jobs so that they can be given its ``stop``."""

    def __init__(self, workers: int, target: Callable[[], int] | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._workers = workers
        self._target = target or (lambda: workers)
        self._slots = anyio.CapacityLimiter(workers)
        self._providers: dict[Hashable, int] = defaultdict(int)
        self._failed: set[Hashable] = set()
        self._dependents: dict[Hashable, list[Job]] = defaultdict(list)
        self._unfinished = 0
        self._stopped = False
        self._send: MemoryObjectSendStream[Job] | None = None
        self._receive: MemoryObjectReceiveStream[Job] | None = None
        self._tg: TaskGroup | None = None
        self._started = 0
        """Worker tasks started so far."""
        self._free = 0
        """Started worker tasks not holding a job."""

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def workers_started(self) -> int:
        """Worker tasks started so far: what the jobs and the target needed, not ``workers``."""
        return self._started

    def stop(self) -> None:
        """Take no new work; jobs already running finish."""
        self._stopped = True
        if self._send is not None:
            self._send.close()

    async def run(self, jobs: Sequence[Job]) -> None:
        """Run every job (or until ``stop``); returns when no job is running."""
        if self._send is not None:
            raise RuntimeError("a scheduler runs once")
        send, receive = anyio.create_memory_object_stream[Job](len(jobs) or 1)
        self._send, self._receive = send, receive
        self._unfinished = len(jobs)
        for job in jobs:
            for token in job.provides:
                self._providers[token] += 1
        async with receive, task_group() as tg:  # the workers share ``receive``; closed last
            self._tg = tg
            for job in jobs:
                pending = [t for t in job.requires if self._providers.get(t, 0) > 0]
                job._waiting_on = len(pending)
                for token in pending:
                    self._dependents[token].append(job)
            if not self._stopped:
                for job in jobs:
                    if job._waiting_on == 0:
                        send.send_nowait(job)
                # Workers for all of them at once: asked per job, the target cost the client's
                # limiter figures (``CloudClient.write_target``) for every change of the plan.
                self._grow()
            if self._unfinished == 0:
                send.close()

    async def _worker(self, receive: MemoryObjectReceiveStream[Job]) -> None:
        while (job := await _next(receive)) is not None:
            self._free -= 1
            if self._stopped:
                return
            target = self._slots.total_tokens = self._cap()
            self._grow(target)
            await _take(self._slots)
            try:
                if self._stopped:
                    return
                ok = await job.run()
            finally:
                self._slots.release()
            self._free += 1  # before ``_finish``: the jobs it makes ready can be this worker's
            await self._finish(job, ok)

    def _cap(self) -> int:
        return max(1, min(self._workers, self._target()))

    def _grow(self, target: int | None = None) -> None:
        """Start worker tasks while jobs wait with no free worker to take them, up to the
        target (``target`` when the caller just asked for it)."""
        assert self._tg is not None
        assert self._receive is not None
        waiting = self._receive.statistics().current_buffer_used
        if self._free >= waiting:
            return
        target = target or self._cap()
        while self._free < waiting and self._started < target:
            self._started += 1
            self._free += 1
            self._tg.start_soon(self._worker, self._receive)

    async def _dispatch(self, job: Job) -> None:
        if self._stopped:
            return
        if any(token in self._failed for token in job.requires):
            await job.skip()
            await self._finish(job, ok=False)
            return
        assert self._send is not None
        self._send.send_nowait(job)
        self._grow()

    async def _finish(self, job: Job, ok: bool) -> None:
        ready: list[Job] = []
        for token in job.provides:
            if not ok:
                self._failed.add(token)
            self._providers[token] -= 1
            if self._providers[token] == 0:
                for dependent in self._dependents.pop(token, ()):
                    dependent._waiting_on -= 1
                    if dependent._waiting_on == 0:
                        ready.append(dependent)
        self._unfinished -= 1
        for dependent in ready:
            await self._dispatch(dependent)
        if self._unfinished == 0 and self._send is not None:
            self._send.close()


async def _next(receive: MemoryObjectReceiveStream[Job]) -> Job | None:
    """The next job (``None`` once there are no more), without a turn of the event loop when
    one is ready: the job's own request yields soon enough, and a turn per job is CPU per job."""
    try:
        return receive.receive_nowait()
    except anyio.WouldBlock:
        pass
    except anyio.EndOfStream:
        return None
    try:
        return await receive.receive()
    except anyio.EndOfStream:
        return None


async def _take(slots: anyio.CapacityLimiter) -> None:
    """A slot, waiting only when none is free (``async with`` yields to the loop either way)."""
    try:
        slots.acquire_nowait()
    except anyio.WouldBlock:
        await slots.acquire()
