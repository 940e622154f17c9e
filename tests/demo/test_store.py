"""The demo firm goes into real desired-state tables and into a real simulator."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from syncer.demo.data import Size, generate, mutate
from syncer.demo.store import replace_desired, seed_cloud
from syncer.simulator import Simulator
from syncer.store.db import create_engine
from syncer.store.tables import desired_tables


@pytest.mark.anyio
async def test_desired_tables_hold_exactly_the_generated_rows(migrated_database_url: str) -> None:
    data = generate(Size.SMALL)
    engine = create_engine(migrated_database_url)
    try:
        await replace_desired(engine, data.rows)
        changed, _ = mutate(data)
        await replace_desired(engine, changed.rows)  # a second fill replaces, never duplicates
        async with engine.connect() as conn:
            for kind, table in desired_tables.items():
                stored = await conn.scalar(sa.select(sa.func.count()).select_from(table))
                assert stored == changed.count(kind), kind
    finally:
        await engine.dispose()


def test_the_prior_cloud_objects_are_accepted_by_the_simulator() -> None:
    data = generate(Size.SMALL)
    simulator = Simulator()
    created = seed_cloud(simulator, data.seed_objects)
    assert created == sum(len(objects) for objects in data.seed_objects.values())
    objects = simulator.dump()["objects"]
    assert len(objects["entities"]) == len(data.seed_objects["entities"])
