"""Progress of a run: a rich bar per kind on a terminal, periodic JSON log lines otherwise.

Both sinks take the same two calls (``add_total`` and ``advance``), so the engine does not care
where progress goes. On a terminal the bars share ``syncer.logs.console`` with the log output, so
log lines print above the bars instead of tearing them; under cron nobody watches a bar, and a
JSON line every few seconds is what a log collector can use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from syncer import logs
from syncer.clock import Clock, SystemClock

JSON_INTERVAL_SECONDS = 5.0


class ProgressSink(Protocol):
    def add_total(self, kind: str, total: int) -> None: ...

    def advance(self, kind: str, count: int = 1) -> None: ...


class ProgressFactory(Protocol):
    """Opens a sink for one stage of a run (``progress_for``, or ``quiet``); the use cases take
    one, so the code that does the work never decides where its progress goes."""

    def __call__(
        self, event: str, clock: Clock | None = None, *, transient: bool = False
    ) -> AbstractContextManager[ProgressSink]: ...


class _RateColumn(ProgressColumn):
    """Changes per second (rich's speed columns speak in bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def add_total(self, kind: str, total: int) -> None:
        task = self._tasks.get(kind)
        if task is None:
            self._tasks[kind] = self._progress.add_task(kind, total=total)
        else:
            self._progress.update(task, total=(self._progress.tasks[task].total or 0) + total)

    def advance(self, kind: str, count: int = 1) -> None:
        task = self._tasks.get(kind)
        if task is None:
            # A count without a known total (pages of Cloud being read): an open-ended bar.
            task = self._tasks[kind] = self._progress.add_task(kind, total=None)
        self._progress.advance(task, count)


@dataclass
class JsonProgress:
    """Logs ``progress`` with done/total per kind at most every ``interval`` seconds."""

    event: str
    clock: Clock = field(default_factory=SystemClock)
    interval: float = JSON_INTERVAL_SECONDS
    totals: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    _started: float | None = None
    _last: float = 0.0

    def add_total(self, kind: str, total: int) -> None:
        self.totals[kind] = self.totals.get(kind, 0) + total
        self._start()

    def advance(self, kind: str, count: int = 1) -> None:
        self._start()
        self.done[kind] = self.done.get(kind, 0) + count
        now = self.clock.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.emit()

    def _start(self) -> None:
        if self._started is None:
            self._started = self._last = self.clock.monotonic()

    def emit(self) -> None:
        now = self.clock.monotonic()
        elapsed = now - (now if self._started is None else self._started)
        finished = sum(self.done.values())
        logs.get_logger("syncer.progress").info(
            self.event,
            done=dict(self.done),
            total=dict(self.totals),
            rate=round(finished / elapsed, 2) if elapsed > 0 else None,
            elapsed_seconds=round(elapsed, 1),
        )


@contextmanager
def progress_for(
    event: str, clock: Clock | None = None, *, transient: bool = False
) -> Iterator[ProgressSink]:
    """The sink that suits stderr: bars on a terminal (cleared at the end when ``transient``),
    JSON lines otherwise."""
    if logs.console.is_terminal:
        bars = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=logs.console,
            transient=transient,
        )
        with bars:
            yield RichProgress(bars)
    else:
        sink = JsonProgress(event, clock or SystemClock())
        yield sink
        if sink.totals or sink.done:
            sink.emit()


class _Silent:
    def add_total(self, kind: str, total: int) -> None:
        pass

    def advance(self, kind: str, count: int = 1) -> None:
        pass


@contextmanager
def quiet(
    event: str, clock: Clock | None = None, *, transient: bool = False
) -> Iterator[ProgressSink]:
    """No progress at all, for callers that tell their own story (the demo's plans)."""
    yield _Silent()
