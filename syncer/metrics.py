"""Run metrics for cron: a Prometheus text file written at the end of a run (``--metrics-file``).

node_exporter's textfile collector reads every ``*.prom`` file in a folder on each scrape, so a
nightly job that rewrites one file per run gives monitoring the last run's outcome without syncer
ever running a server. Every metric is therefore a gauge describing *the last run* of a firm and
command, not a counter across runs. The file is written atomically (a temporary file renamed into
place) so a scrape never reads half a file.

A command with ``--metrics-file`` calls ``write_run_metrics(path, [(database_url, run_id), ...])``
once after all its firms finished: the figures come from each run's ``syncer_runs`` row (which the
apply engine fills), so a multi-firm run produces one file with one series per firm. Code that
has the figures in hand can build ``RunMetrics`` itself and call ``write_metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.store import create_engine
from syncer.store.tables import runs as runs_table

PREFIX = "syncer_last_run"


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """What one run of one firm did; everything ``write_metrics`` publishes.

    ``changes`` counts changes by ``(kind, action, result)``: kind and action as in the plan
    (``entities``, ``create``...), result as the journal records it (``done``, ``rejected``,
    ``skipped``, ``blocked``...). ``started_at`` and ``finished_at`` are Unix seconds.
    ``throttled`` counts 429 responses and ``unauthorized`` 401 responses. Rates are requests per
    second: ``learned_rate`` is what the limiter learned the server grants, ``achieved_rate`` what
    apply actually sent (its own requests over its own duration, planning reads left out);
    ``None`` when unknown (e.g. a run that sent nothing).
    """

    firm: str
    command: str
    exit_code: int
    started_at: float
    finished_at: float
    changes: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0
    unauthorized: int = 0
    learned_rate: float | None = None
    achieved_rate: float | None = None
    latency: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per route family: ``smoothed_ms``, ``p90_ms``, ``samples`` (as the run row stores it)."""
    pages_past_end: int | None = None
    plan_requests: int | None = None
    """Of ``requests``, those made before applying (recovery and planning reads)."""

    @property
    def apply_requests(self) -> int | None:
        return None if self.plan_requests is None else self.requests - self.plan_requests

    @property
    def duration_seconds(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    @classmethod
    def from_run_row(cls, row: Mapping[Any, Any]) -> RunMetrics:
        """Build from a ``syncer_runs`` row (a mapping of its columns).

        ``counts`` is read as ``{kind: {action: {result: n}}}``, the shape the journal writes.
        A run still in progress (no ``finished_at``) is reported as lasting zero seconds.
        """
        started: datetime = row["started_at"]
        finished: datetime = row["finished_at"] or started
        counts: Mapping[str, Mapping[str, Mapping[str, int]]] = row["counts"] or {}
        return cls(
            firm=row["firm"],
            command=row["command"],
            exit_code=int(row["exit_code"] if row["exit_code"] is not None else 1),
            started_at=_unix(started),
            finished_at=_unix(finished),
            changes={
                (kind, action, result): int(n)
                for kind, actions in counts.items()
                for action, results in actions.items()
                for result, n in results.items()
            },
            requests=int(row["requests"] or 0),
            throttled=int(row["throttled"] or 0),
            unauthorized=int(row["unauthorized"] or 0),
            learned_rate=row["learned_rate"],
            achieved_rate=row["achieved_rate"],
            latency=row["latency"] or {},
            pages_past_end=row["pages_past_end"],
            plan_requests=row.get("plan_requests"),
        )


def _unix(moment: datetime) -> float:
    """Unix seconds; SQLite hands back naive datetimes, which syncer always stores in UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True, slots=True)
class _Scalar:
    """One per-run gauge: its name suffix, help text, and how to read it from a run."""

    suffix: str
    help: str
    attribute: str


_SCALARS: tuple[_Scalar, ...] = (
    _Scalar("requests", "API requests sent (retries included).", "requests"),
    _Scalar("plan_requests", "Requests made before applying (planning reads).", "plan_requests"),
    _Scalar("apply_requests", "Requests sent while applying (writes).", "apply_requests"),
    _Scalar("throttled_responses", "Responses refused with 429 (rate limit).", "throttled"),
    _Scalar("unauthorized_responses", "Responses refused with 401 (token).", "unauthorized"),
    _Scalar("duration_seconds", "Wall-clock duration of the run.", "duration_seconds"),
    _Scalar("learned_rate_per_second", "Request rate the limiter learned.", "learned_rate"),
    _Scalar(
        "achieved_rate_per_second",
        "Request rate apply achieved (its own requests).",
        "achieved_rate",
    ),
    _Scalar(
        "pages_past_end", "List pages read past the end (concurrent paging).", "pages_past_end"
    ),
    _Scalar("timestamp_seconds", "When the run finished (Unix time).", "finished_at"),
    _Scalar("exit_code", "The run's exit code (0 ok, 3 rows rejected, ...).", "exit_code"),
)
"""The per-run gauges as data; a run whose value is ``None`` (unknown rate) gets no sample."""


LATENCY_ESTIMATES = {"smoothed": "smoothed_ms", "p90": "p90_ms"}
"""The ``estimate`` label of the latency gauge -> the key of the run row's latency figures."""


def build_registry(runs: Iterable[RunMetrics]) -> CollectorRegistry:
    """A fresh registry holding one series per firm and command (never the global registry, so
    nothing of the process's own metrics leaks in and two calls cannot collide)."""
    registry = CollectorRegistry(auto_describe=True)
    labels = ("firm", "command")
    changes = Gauge(
        f"{PREFIX}_changes",
        "Changes in the last run by kind, action and result.",
        (*labels, "kind", "action", "result"),
        registry=registry,
    )
    latency = Gauge(
        f"{PREFIX}_latency_seconds",
        "Response latency in the last run by route family: smoothed estimate and 90th percentile.",
        (*labels, "family", "estimate"),
        registry=registry,
    )
    scalars = {
        scalar: Gauge(f"{PREFIX}_{scalar.suffix}", scalar.help, labels, registry=registry)
        for scalar in _SCALARS
    }
    for run in runs:
        for (kind, action, result), count in sorted(run.changes.items()):
            changes.labels(run.firm, run.command, kind, action, result).set(count)
        for family, figures in sorted(run.latency.items()):
            for estimate, key in LATENCY_ESTIMATES.items():
                latency.labels(run.firm, run.command, family, estimate).set(figures[key] / 1000)
        for scalar, gauge in scalars.items():
            value = getattr(run, scalar.attribute)
            if value is not None:
                gauge.labels(run.firm, run.command).set(value)
    return registry


async def read_run_metrics(engine: AsyncEngine, run_ids: Iterable[int]) -> list[RunMetrics]:
    """The metrics of the given ``syncer_runs`` rows (e.g. ``ApplyResult.run_id`` per firm)."""
    wanted = list(run_ids)
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.select(runs_table).where(runs_table.c.id.in_(wanted)).order_by(runs_table.c.id)
        )
        return [RunMetrics.from_run_row(row) for row in result.mappings()]


async def write_run_metrics(path: Path, finished: Iterable[tuple[str, int]]) -> None:
    """Write the metrics file for runs given as (database URL, ``syncer_runs`` id) pairs.

    What ``--metrics-file`` does after a run of one or several firms: each firm's run row is read
    from its own database (firms may use different ones) and all of them go into one file.
    """
    by_database: dict[str, list[int]] = {}
    for url, run_id in finished:
        by_database.setdefault(url, []).append(run_id)
    collected: list[RunMetrics] = []
    for url, run_ids in by_database.items():
        engine = create_engine(url)
        try:
            collected += await read_run_metrics(engine, run_ids)
        finally:
            await engine.dispose()
    write_metrics(path, collected)


def write_metrics(path: Path, runs: Iterable[RunMetrics]) -> None:
    """Write every run's metrics to ``path`` atomically (node_exporter textfile format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), build_registry(runs))
