"""The id map: round trip, overwrite on adoption, normalised keys, firms kept apart."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import ManualClock
from syncer.state import Origin, Ownership
from syncer.store.db import write_transaction
from syncer.store.idmap import forget, read_id_map, record_ownership

pytestmark = pytest.mark.anyio


async def test_entries_round_trip_by_normalised_key(engine: AsyncEngine) -> None:
    clock = ManualClock()
    async with write_transaction(engine) as conn:
        await record_ownership(
            conn,
            "firm-a",
            [
                Ownership("users", " Ann@X.com", "guid-1", 11, Origin.CREATED),
                Ownership("entities", "C-1", "guid-2", None, Origin.ADOPTED),
            ],
            now=clock.now(),
        )
        await record_ownership(
            conn, "firm-b", [Ownership("users", "ann@x.com", "guid-9", 9, Origin.CREATED)], now=0
        )

    async with engine.connect() as conn:
        entries = await read_id_map(conn, "firm-a")

    assert entries == {
        ("users", "ann@x.com"): Ownership("users", "ann@x.com", "guid-1", 11, Origin.CREATED),
        ("entities", "C-1"): Ownership("entities", "C-1", "guid-2", None, Origin.ADOPTED),
    }


async def test_recording_again_overwrites_and_forget_removes(engine: AsyncEngine) -> None:
    async with write_transaction(engine) as conn:
        await record_ownership(
            conn, "f", [Ownership("groups", "Tax", "guid-1", 1, Origin.CREATED)], now=1.0
        )
        await record_ownership(
            conn, "f", [Ownership("groups", "TAX", "guid-2", 2, Origin.ADOPTED)], now=2.0
        )
    async with engine.connect() as conn:
        assert await read_id_map(conn, "f") == {
            ("groups", "tax"): Ownership("groups", "tax", "guid-2", 2, Origin.ADOPTED)
        }

    async with write_transaction(engine) as conn:
        await forget(conn, "f", "groups", ["Tax "])
    async with engine.connect() as conn:
        assert await read_id_map(conn, "f") == {}
