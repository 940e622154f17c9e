"""Entity addresses in the desired state: loaded from CSV and read from a view, validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.model import ENTITY_ADDRESSES
from syncer.settings import Settings
from syncer.state import DesiredChild, InvalidRow
from syncer.store.desired import read_desired_state
from syncer.store.loader import Rejection, load_csv
from syncer.store.tables import desired_tables

pytestmark = pytest.mark.anyio

ADDRESSES_CSV = (
    "entity_no,category,name,address1,city,country\n"
    "C-1,Business,Head office,1 Main St,Toronto,Canada\n"
    "C-1,Mail|ing,,,,\n"
    "C-9,Business,,,,\n"
    "C-1,business,Again,,,\n"
    "C-1,Mailing,PO Box,,," + "x" * 101 + "\n"
)


async def _entities(engine: AsyncEngine, *keys: str) -> None:
    async with engine.begin() as conn:
        rows = [{"entity_no": key, "name": key} for key in keys]
        await conn.execute(insert(desired_tables["entities"]), rows)


async def test_addresses_load_after_their_entities_with_each_bad_row_reported(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _entities(engine, "C-1")
    path = tmp_path / "addresses.csv"
    path.write_text(ADDRESSES_CSV, encoding="utf-8")

    result = await load_csv(engine, ENTITY_ADDRESSES, path)

    assert result.loaded == 1
    assert result.rejected == [
        Rejection(3, "category", "may not contain '|'"),
        Rejection(4, "entity_no", "'C-9' is not in desired entities"),
        Rejection(5, None, "duplicate key, first on line 2"),
        Rejection(6, "country", "longer than 100 characters (101)"),
    ]
    state = await read_desired_state(engine, Settings())
    assert state.children["entity_addresses"] == (
        DesiredChild(
            "C-1",
            "Business",
            {
                "name": "Head office",
                "address1": "1 Main St",
                "address2": None,
                "address3": None,
                "city": "Toronto",
                "country": "Canada",
            },
            1,
        ),
    )
    assert "entity_addresses" in state.complete


async def test_a_view_source_is_read_and_an_address_of_a_missing_entity_is_invalid(
    engine: AsyncEngine,
) -> None:
    await _entities(engine, "C-1")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE VIEW firm_addresses AS "
                "SELECT 'C-1' AS entity_no, 'Mailing' AS category, 'Box 1' AS address1 "
                "UNION ALL SELECT 'C-3', 'Business', 'Nowhere'"
            )
        )

    state = await read_desired_state(
        engine, Settings(sources={"entity_addresses": "firm_addresses"})
    )

    assert [
        (c.parent, c.category, c.values["address1"]) for c in state.children["entity_addresses"]
    ] == [("C-1", "Mailing", "Box 1")]
    assert (
        InvalidRow(
            "entity_addresses", "C-3 / Business", "entity_no: 'C-3' is not in desired entities", 2
        )
        in state.invalid
    )
