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

from syncer.apply.children import perform_child_change
from syncer.apply.outcome import ChangeStatus
from syncer.cloud.client import CloudClient
from syncer.errors import ExitCode
from syncer.model import ENTITY_ADDRESSES
from syncer.plan.changes import Action, Change, FieldChange
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import desired_tables, id_map
from syncer.usecases import ApplyOptions, apply_firm
from tests.apply.support import (
    address,
    addresses_by_owner,
    assert_one_per_category,
    clients_with_addresses,
    entity,
    fill,
    objects,
    settings_for,
    writes,
)

pytestmark = pytest.mark.anyio

READ_ROUTE = "GET entities/{cw_guid}/addresses"
CREATE_ROUTE = "POST entities/{cw_guid}/addresses"


def requests(sim: RunningSimulator, route: str) -> int:
    by_route: dict[str, dict[str, int]] = sim.control.snapshot_stats()["by_route"]
    return sum(by_route.get(route, {}).values())


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
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
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
        migrated_database_url,
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
    settings = settings_for(simulator, migrated_database_url)

    result = await apply_firm(settings, ApplyOptions())

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
    assert await _owned(migrated_database_url) == {
        "C-0001|business": (hq["CWGuid"], "created"),
        "C-0001|mailing": (held["C-0001", "Mailing"][0]["CWGuid"], "created"),
        "C-0002|business": (old["CWGuid"], "adopted"),
        "C-0002|mailing": (kept["CWGuid"], "adopted"),
    }

    writes_before, reads_before = writes(simulator), requests(simulator, READ_ROUTE)
    again = await apply_firm(settings, ApplyOptions())
    assert again.exit_code == ExitCode.OK, again.message
    assert writes(simulator) == writes_before, "a second run must send no write"
    assert requests(simulator, READ_ROUTE) == reads_before, "both clients are known in step"

    await apply_firm(settings, ApplyOptions(refresh=True))
    assert requests(simulator, READ_ROUTE) == reads_before + 2, "--refresh reads every client"
    assert writes(simulator) == writes_before


async def test_an_edit_in_desired_state_reads_only_that_client(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    await fill(
        migrated_database_url,
        {
            "entities": [entity(n) for n in (1, 2, 3)],
            "entity_addresses": [address(n, "Business", city=f"City {n}") for n in (1, 2, 3)],
        },
    )
    settings = settings_for(simulator, migrated_database_url)
    assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK
    reads = requests(simulator, READ_ROUTE)
    engine = create_engine(migrated_database_url)
    try:
        async with engine.begin() as conn:
            table = desired_tables["entity_addresses"]
            await conn.execute(
                table.update().where(table.c.entity_no == "C-0002").values(city="Moved")
            )
    finally:
        await engine.dispose()

    result = await apply_firm(settings, ApplyOptions())

    assert result.counts["entity_addresses"] == {"update": {"done": 1}}
    assert requests(simulator, READ_ROUTE) == reads + 1
    assert addresses_by_owner(simulator)["C-0002", "Business"][0]["City"] == "Moved"
    assert Counter(key for key in addresses_by_owner(simulator)) == Counter(
        {(f"C-000{n}", "Business"): 1 for n in (1, 2, 3)}
    )


async def test_lost_answers_to_address_creates_create_no_duplicate(
    simulator: RunningSimulator, migrated_sqlite_url: str
) -> None:
    """503s and dropped connections after the write landed: an address create whose outcome is
    unknown is looked up by (client, category) before it is sent again."""
    await fill(migrated_sqlite_url, clients_with_addresses(10))
    simulator.control.set_faults(seed=5, error_share=0.25, drop_share=0.1, after_write=True)
    settings = settings_for(simulator, migrated_sqlite_url, max_retries=8)
    for _ in range(4):
        result = await apply_firm(settings, ApplyOptions())
        if result.exit_code == ExitCode.OK:
            break
    assert result.exit_code == ExitCode.OK, result.message
    assert_one_per_category(simulator, 10)
    assert simulator.control.snapshot_stats()["events"].get("dropped", 0) > 0


async def test_a_create_answered_by_a_bare_integer_is_found_again_by_that_id(
    simulator: RunningSimulator, sqlite_url: str
) -> None:
    """The POST answers only the new ``Id``; the CWGuid recorded is that address's, not an
    older one of the same category (found by category, it would be the lower ``Id``)."""
    client: Any = simulator.control.seed("entities", {"EntityNo": "C-0001", "Name": "Acme"})
    older: Any = simulator.control.seed(
        "addresses", {"OwnerCWGuid": client["CWGuid"], "AddressCategory": "Business"}
    )
    change = Change(
        "entity_addresses",
        Action.CREATE,
        "C-0001|Business",
        fields={"AddressCategory": FieldChange(None, "Business"), "City": FieldChange(None, "X")},
    )
    settings = settings_for(simulator, sqlite_url)
    async with CloudClient.open(settings.cloud) as cloud:
        answer = await cloud.create_child(ENTITY_ADDRESSES, client["CWGuid"], {"City": "Y"})
        assert isinstance(answer, int), "the simulator answers a bare integer, as the API does"
        outcome = await perform_child_change(cloud, ENTITY_ADDRESSES, change, client["CWGuid"])
    assert outcome.status is ChangeStatus.DONE
    assert outcome.remote is not None
    newest = max(objects(simulator, "addresses"), key=lambda a: a["Id"])
    assert (outcome.remote.cwguid, outcome.remote.id) == (newest["CWGuid"], newest["Id"])
    assert outcome.remote.cwguid != older["CWGuid"]
    assert newest["City"] == "X"


async def test_a_client_whose_address_was_rejected_is_read_again_next_run(
    simulator: RunningSimulator, migrated_sqlite_url: str
) -> None:
    """Only a client whose address changes all went through is known in step; the simulator
    refuses the category ``Warehouse`` (400), so that client stays unknown and is read again."""
    await fill(
        migrated_sqlite_url,
        {
            "entities": [entity(1), entity(2)],
            "entity_addresses": [address(1, "Warehouse", city="Dock"), address(2, "Business")],
        },
    )
    simulator.control.seed("entities", {"EntityNo": "C-0001", "Name": "Client 1"})
    simulator.control.seed("entities", {"EntityNo": "C-0002", "Name": "Client 2"})
    settings = settings_for(simulator, migrated_sqlite_url)

    first = await apply_firm(settings, ApplyOptions())
    assert first.exit_code == ExitCode.ROWS_REJECTED
    assert first.counts["entity_addresses"]["create"] == {"done": 1, "rejected": 1}
    reads = requests(simulator, READ_ROUTE)

    await apply_firm(settings, ApplyOptions())

    assert requests(simulator, READ_ROUTE) == reads + 1, "C-0001 only; C-0002 is in step"
