"""Run history: reading ``syncer_runs`` back for ``syncer runs``.

Apart from the apply package, whose every module would load the engine (and aiohttp with the
Cloud client) through the package's surface: ``syncer runs`` reads a table and prints it, and
imports no more than that needs (about 0.15 s of CPU less a process)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import as_utc
from syncer.store.tables import runs


def totals_by_status(counts: Mapping[str, Mapping[str, Mapping[str, int]]]) -> Counter[str]:
    """Changes per status over every kind and action (``counts``: kind -> action -> status ->
    number of changes, as the journal counts a run's changes)."""
    totals: Counter[str] = Counter()
    for actions in counts.values():
        for statuses in actions.values():
            totals.update(statuses)
    return totals


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    firm: str
    command: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    exit_code: int | None
    counts: Mapping[str, Mapping[str, Mapping[str, int]]]
    requests: int
    throttled: int
    unauthorized: int
    learned_rate: float | None
    achieved_rate: float | None
    message: str | None
    latency: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per route family: ``smoothed_ms``, ``p90_ms``, ``samples`` (older runs: empty)."""
    pages_past_end: int | None = None
    plan_requests: int | None = None
    """Of ``requests``, those made before applying: recovery and planning reads (older: None)."""

    def slowest_family(self) -> tuple[str, Mapping[str, float]] | None:
        """The family with the highest p90 latency, the one that sized the work in flight."""
        return max(self.latency.items(), key=lambda item: item[1]["p90_ms"], default=None)

    @property
    def apply_requests(self) -> int | None:
        """Requests sent while applying (writes, and the lookups they needed)."""
        return None if self.plan_requests is None else self.requests - self.plan_requests

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def by_status(self) -> Counter[str]:
        """Changes per journal status, over every kind and action."""
        return totals_by_status(self.counts)


async def recent_runs(
    engine: AsyncEngine, *, last: int, firms: Collection[str] | None = None
) -> list[RunRecord]:
    """The ``last`` most recent runs (of ``firms``, or of every firm), newest first."""
    query = select(runs).order_by(runs.c.id.desc()).limit(last)
    if firms is not None:
        query = query.where(runs.c.firm.in_(list(firms)))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        RunRecord(
            id=row["id"],
            firm=row["firm"],
            command=row["command"],
            started_at=as_utc(row["started_at"]),
            finished_at=as_utc(row["finished_at"]) if row["finished_at"] else None,
            status=row["status"],
            exit_code=row["exit_code"],
            counts=row["counts"] or {},
            requests=row["requests"] or 0,
            throttled=row["throttled"] or 0,
            unauthorized=row["unauthorized"] or 0,
            learned_rate=row["learned_rate"],
            achieved_rate=row["achieved_rate"],
            message=row["message"],
            latency=row["latency"] or {},
            pages_past_end=row["pages_past_end"],
            plan_requests=row["plan_requests"],
        )
        for row in rows
    ]
