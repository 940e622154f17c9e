"""Writing the demo firm into the desired-state tables and the simulator's prior contents."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.demo.data import Rows
from syncer.model import ALL_KINDS
from syncer.simulator import Simulator
from syncer.store.db import write_transaction
from syncer.store.tables import desired_tables


async def replace_desired(engine: AsyncEngine, rows: Rows) -> None:
    """Make the desired-state tables hold exactly ``rows``, in one transaction.

    The demo owns its database, so replacing everything is the simplest faithful way to "edit a
    few rows": the planner only ever sees the resulting state, not how it was written.
    """
    async with write_transaction(engine) as conn:
        for kind in reversed(ALL_KINDS):
            await conn.execute(desired_tables[kind].delete())
        for kind in ALL_KINDS:
            kind_rows = [dict(row) for row in rows.get(kind, ())]
            if kind_rows:
                await conn.execute(desired_tables[kind].insert(), kind_rows)


def seed_cloud(simulator: Simulator, seed_objects: Rows) -> int:
    """Create the objects Cloud held before syncer's first run; returns how many."""
    created = 0
    for kind, objects in seed_objects.items():
        for body in objects:
            simulator.seed(kind, dict(body))
            created += 1
    return created
