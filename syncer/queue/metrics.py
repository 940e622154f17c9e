"""The metrics file of a worker: the last finished apply of every firm, whichever worker ran it.

Firms move between workers from one night to the next, so a file listing only the firms this
worker ran would lose some and, beside another worker's file, repeat others. Reading the last run
of every configured firm from the database makes every worker's file the same picture, so one
``--metrics-file`` per machine covers the whole fleet on that machine's node_exporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from syncer.metrics import RunMetrics, read_run_metrics, write_metrics
from syncer.settings import Firm
from syncer.store import SharedEngines
from syncer.store.tables import runs


async def write_last_runs(path: Path, firms: Sequence[Firm], shared: SharedEngines) -> None:
    """Rewrite ``path`` with the last finished apply of each of ``firms`` (read through the
    worker's ``shared`` engines)."""
    by_database: dict[str, list[str]] = {}
    for firm in firms:
        by_database.setdefault(firm.settings.database.url, []).append(firm.settings.cloud.firm)
    collected: list[RunMetrics] = []
    for url, names in by_database.items():
        engine = shared.get(url).engine
        async with engine.connect() as conn:
            last = await conn.scalars(
                select(func.max(runs.c.id))
                .where(runs.c.firm.in_(names), runs.c.command == "apply")
                .where(runs.c.finished_at.is_not(None))
                .group_by(runs.c.firm)
            )
            run_ids = list(last.all())
        collected += await read_run_metrics(engine, run_ids)
    write_metrics(path, collected)
