"""Entity addresses end to end against the simulator, on SQLite and PostgreSQL.

Addresses are created after their client (the create answers a bare integer ``Id``, so the new
CWGuid is found by reading the client's addresses), matched by (client, category), updated field
by field and adopted when Cloud already holds them; a second run sends no write and reads no
address of a client known to be in step.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from syncer.apply.engine import ApplyOptions, run_apply
from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine, upgrade
from syncer.store.tables import desired_tables, id_map
from tests.apply.support import entity, fill, objects, settings_for, writes

pytestmark = pytest.mark.anyio

READ_ROUTE = "GET entities/{cw_guid}/addresses"
CREATE_ROUTE = "POST entities/{cw_guid}/addresses"


FIELDS = ("name", "address1", "address2", "address3", "city", "country")


def address(n: int, category: str, **values: object) -> dict[str, object]:
    return {"entity_no": f"C-{n:04d}", "category": category, **dict.fromkeys(FIELDS), **values}


def requests(sim: RunningSimulator, route: str) -> int:
    by_route: dict[str, dict[str, int]] = sim.control.snapshot_stats()["by_route"]
    return sum(by_route.get(route, {}).values())


def addresses_by_owner(sim: RunningSimulator) -> dict[tuple[str, str], list[dict[str, Any]]]:
    entities = {e["CWGuid"]: e["EntityNo"] for e in objects(sim, "entities")}
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in objects(sim, "addresses"):
        found.setdefault((entities[a["OwnerCWGuid"]], a["AddressCategory"]), []).append(a)
    return found


async def _owned(url: str) -> dict[str, tuple[str, str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(id_map.c.key, id_map.c.cwguid, id_map.c.origin).where(
                        id_map.c.kind == "entity_addresses"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {key: (cwguid, origin) for key, cwguid, origin in rows}


async def test_create_update_adopt_then_a_second_run_writes_and_reads_nothing(
    simulator: RunningSimulator, database_url: str
) -> None:
    await upgrade(database_url)
    sim = simulator.control
    existing: Any = sim.seed("entities", {"EntityNo": "C-0002", "Name": "Client 2"})
    old: Any = sim.seed(
        "addresses",
        {"OwnerCWGuid": existing["CWGuid"], "AddressCategory": "Business", "City": "Old town"},
    )
    kept: Any = sim.seed(
        "addresses",
        {"OwnerCWGuid": existing["CWGuid"], "AddressCategory": "Mailing", "Address1": "Box 9"},
    )
    await fill(
        database_url,
        {
            "entities": [entity(1), entity(2)],
            "entity_addresses": [
                address(1, "Business", name="HQ", address1="1 Main St", city="Toronto"),
                address(1, "Mailing", address1="PO Box 1"),
                address(2, "business", city="New town"),
                address(2, "Mailing", address1="Box 9"),
            ],
        },
    )
    settings = settings_for(simulator, database_url)

    result = await run_apply(settings, ApplyOptions())

    assert result.exit_code == ExitCode.OK, result.message
    assert result.counts["entity_addresses"] == {
        "create": {"done": 2},
        "update": {"done": 1},
    }
    held = addresses_by_owner(simulator)
    assert {key: len(found) for key, found in held.items()} == {
        ("C-0001", "Business"): 1,
        ("C-0001", "Mailing"): 1,
        ("C-0002", "Business"): 1,
        ("C-0002", "Mailing"): 1,
    }
    hq = held["C-0001", "Business"][0]
    assert (hq["Name"], hq["Address1"], hq["City"]) == ("HQ", "1 Main St", "Toronto")
    assert held["C-0002", "Business"][0]["City"] == "New town"
    assert held["C-0002", "Business"][0]["CWGuid"] == old["CWGuid"]
    assert await _owned(database_url) == {
        "C-0001|business": (hq["CWGuid"], "created"),
        "C-0001|mailing": (held["C-0001", "Mailing"][0]["CWGuid"], "created"),
        "C-0002|business": (old["CWGuid"], "adopted"),
        "C-0002|mailing": (kept["CWGuid"], "adopted"),
    }

    writes_before, reads_before = writes(simulator), requests(simulator, READ_ROUTE)
    again = await run_apply(settings, ApplyOptions())
    assert again.exit_code == ExitCode.OK, again.message
    assert writes(simulator) == writes_before, "a second run must send no write"
    assert requests(simulator, READ_ROUTE) == reads_before, "both clients are known in step"

    await run_apply(settings, ApplyOptions(refresh=True))
    assert requests(simulator, READ_ROUTE) == reads_before + 2, "--refresh reads every client"
    assert writes(simulator) == writes_before


async def test_an_edit_in_desired_state_reads_only_that_client(
    simulator: RunningSimulator, database_url: str
) -> None:
    await upgrade(database_url)
    await fill(
        database_url,
        {
            "entities": [entity(n) for n in (1, 2, 3)],
            "entity_addresses": [address(n, "Business", city=f"City {n}") for n in (1, 2, 3)],
        },
    )
    settings = settings_for(simulator, database_url)
    assert (await run_apply(settings, ApplyOptions())).exit_code == ExitCode.OK
    reads = requests(simulator, READ_ROUTE)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            table = desired_tables["entity_addresses"]
            await conn.execute(
                table.update().where(table.c.entity_no == "C-0002").values(city="Moved")
            )
    finally:
        await engine.dispose()

    result = await run_apply(settings, ApplyOptions())

    assert result.counts["entity_addresses"] == {"update": {"done": 1}}
    assert requests(simulator, READ_ROUTE) == reads + 1
    assert addresses_by_owner(simulator)["C-0002", "Business"][0]["City"] == "Moved"
    assert Counter(key for key in addresses_by_owner(simulator)) == Counter(
        {(f"C-000{n}", "Business"): 1 for n in (1, 2, 3)}
    )
