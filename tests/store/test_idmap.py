"""The id map: round trip, overwrite on adoption, first origin kept, normalised keys, firms
kept apart."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import ManualClock
from syncer.state import IdMap, Origin, Ownership
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
    # Filed by kind as read, so the planner takes a kind without a pass over the others.
    assert isinstance(entries, IdMap)
    assert IdMap.of(entries) is entries
    assert dict(entries.of_kind("users")) == {"ann@x.com": entries["users", "ann@x.com"]}
    assert entries.of_kind("groups") == {}


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


@pytest.mark.parametrize(
    ("first", "then"), [(Origin.CREATED, Origin.ADOPTED), (Origin.ADOPTED, Origin.CREATED)]
)
async def test_the_same_object_recorded_again_keeps_its_first_origin(
    engine: AsyncEngine, first: Origin, then: Origin
) -> None:
    """A create whose answer was lost may be recorded again (found by key in recovery, or
    matched by the next plan): it is still the same object, so its origin does not move."""
    async with write_transaction(engine) as conn:
        await record_ownership(
            conn, "f", [Ownership("users", "ann@x.com", "Guid-1", None, first)], now=1.0
        )
        await record_ownership(
            conn,
            "f",
            [
                Ownership("users", "Ann@x.com", "guid-1", 7, then),
                Ownership("users", "bob@x.com", "guid-2", 8, then),
            ],
            now=2.0,
        )
    async with engine.connect() as conn:
        assert await read_id_map(conn, "f") == {
            ("users", "ann@x.com"): Ownership("users", "ann@x.com", "guid-1", 7, first),
            ("users", "bob@x.com"): Ownership("users", "bob@x.com", "guid-2", 8, then),
        }


def test_an_id_map_is_a_mapping_of_kind_and_key() -> None:
    ann = Ownership("users", "ann@x.com", "guid-1", 1, Origin.CREATED)
    c1 = Ownership("entities", "C-1", "guid-2", 2, Origin.ADOPTED)
    flat = {("users", "ann@x.com"): ann, ("entities", "C-1"): c1}
    id_map = IdMap.of(flat)
    assert id_map == flat
    assert len(id_map) == 2
    assert set(id_map) == set(flat)
    assert id_map.get(("users", "bob@x.com")) is None
    assert ("entities", "C-1") in id_map
    with pytest.raises(KeyError):
        id_map["groups", "Tax"]
