"""CPU per phase of a firm's job, measured one job at a time (``python -m bench.scale --phases K``).

In a worker many firms share one event loop, so no phase's CPU can be read apart there. Here the
bench process itself runs ``K`` apply jobs one after another, as a worker does (``run_firm`` on
shared engines), with the simulators in their own process: the process's CPU time over a phase
is that phase's. Phases are timed by wrapping the functions the use case calls (module
attributes, so the same bench measures any revision of ``syncer`` that has them); a phase nested
in another (the journal's steps inside ``apply``) is also counted in its parent. The first job
pays the process's warm-up (imports, statements compiled, connections opened) and is shown apart.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

PHASES: tuple[tuple[str, str, str], ...] = (
    ("syncer.usecases", "CloudClient.open", "Cloud client open and close"),
    ("syncer.usecases", "RunLock.hold", "run lock take and release"),
    ("syncer.usecases", "recover", "recovery"),
    ("syncer.usecases", "read_desired_state", "desired state"),
    ("syncer.usecases", "read_cloud_state", "Cloud reading"),
    ("syncer.usecases", "read_id_map", "id map"),
    ("syncer.usecases", "with_children", "children"),
    ("syncer.usecases", "build_plan", "planning"),
    ("syncer.usecases", "execute", "apply (all of it)"),
    ("syncer.apply.engine", "Journal.begin", "  journal begin"),
    ("syncer.apply.engine", "BackoffIndex.load", "  retry index"),
    ("syncer.apply.engine", "Journal.enter", "  journal enter"),
    ("syncer.apply.engine", "Journal.close", "  journal close"),
    ("syncer.usecases", "remember_in_step", "remember in step"),
)
"""(module, attribute, label): what is timed; an indented label is inside ``apply``. Of an async
context manager (the client, the run lock) its entry and its exit are timed, not its block."""

TOP_LEVEL = [label for _, _, label in PHASES if not label.startswith(" ")]


@dataclass
class PhaseClock:
    """CPU seconds per label over the current job."""

    spent: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def timed(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.process_time()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.spent[label] += time.process_time() - started

            return timed_async

        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                made = original(*args, **kwargs)
            finally:
                self.spent[label] += time.process_time() - started
            return self._ends_timed(label, made) if hasattr(made, "__aenter__") else made

        return timed_sync

    @asynccontextmanager
    async def _ends_timed(self, label: str, manager: Any) -> AsyncIterator[Any]:
        started = time.process_time()
        entered = await manager.__aenter__()
        self.spent[label] += time.process_time() - started
        try:
            yield entered
        except BaseException as exc:
            if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            started = time.process_time()
            await manager.__aexit__(None, None, None)
            self.spent[label] += time.process_time() - started


@contextmanager
def phases_timed(clock: PhaseClock) -> Iterator[None]:
    """Every phase of ``PHASES`` timed by ``clock`` until the block ends."""
    undo: list[Callable[[], None]] = []
    try:
        for module_name, attribute, label in PHASES:
            owner: Any = importlib.import_module(module_name)
            name = attribute
            if "." in attribute:
                class_name, name = attribute.split(".")
                owner = getattr(owner, class_name)
            raw = inspect.getattr_static(owner, name)
            wrapped: Any = clock.timed(label, getattr(owner, name))
            if isinstance(raw, classmethod | staticmethod):
                wrapped = staticmethod(wrapped)  # the bound original carries the class
            setattr(owner, name, wrapped)
            undo.append(partial(setattr, owner, name, raw))
        yield
    finally:
        for step in reversed(undo):
            step()


@dataclass(frozen=True)
class JobPhases:
    """One job: CPU seconds per phase and in all."""

    spent: dict[str, float]
    total: float

    @property
    def other(self) -> float:
        """The job's CPU outside every top-level phase: the engine, the queue adapter, the
        use case's own steps."""
        return self.total - sum(self.spent.get(label, 0.0) for label in TOP_LEVEL)


def phase_table(jobs: list[JobPhases]) -> str:
    """CPU ms per phase: the first job, and the mean of the others."""
    first, rest = jobs[0], jobs[1:] or jobs[:1]
    rows: list[tuple[str, Callable[[JobPhases], float]]] = [
        (label.replace("  ", "&nbsp;&nbsp;"), partial(_phase, label)) for _, _, label in PHASES
    ]
    rows += [
        ("other", lambda job: job.other),
        ("**job**", lambda job: job.total),
    ]
    lines = [
        f"| phase | first job CPU ms | mean of the next {len(rest)} CPU ms |",
        "|---|---:|---:|",
    ]
    for shown, pick in rows:
        mean = sum(pick(job) for job in rest) / len(rest)
        lines.append(f"| {shown} | {1000 * pick(first):.1f} | {1000 * mean:.1f} |")
    return "\n".join(lines)


def _phase(label: str, job: JobPhases) -> float:
    return job.spent.get(label, 0.0)
