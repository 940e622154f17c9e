"""Helpers shared by the apply and CLI tests: settings pointing at a simulator, desired rows,
and the simulator's ground truth (write requests, creates per key)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
from sqlalchemy import insert

from syncer.settings import DatabaseSettings, Settings, SyncSettings
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import desired_tables
from tests.fixtures.simulator import cloud_settings

WRITE_METHODS = ("POST", "PATCH", "DELETE")


def settings_for(
    sim: RunningSimulator,
    url: str,
    *,
    secret: str | None = None,
    sync: SyncSettings | None = None,
    **cloud: Any,
) -> Settings:
    return Settings(
        database=DatabaseSettings(url=url),
        cloud=cloud_settings(sim, secret=secret, **cloud),
        sync=sync or SyncSettings(),
    )


def env_for(sim: RunningSimulator, url: str, secret: str | None = None) -> dict[str, str]:
    """The environment of a ``python -m syncer`` subprocess aimed at ``sim`` and ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        SYNCER_DATABASE__URL=url,
        SYNCER_CLOUD__FIRM=sim.firm,
        SYNCER_CLOUD__BASE_URL=sim.base_url,
        SYNCER_CLOUD__CLIENT_ID=sim.client_id,
        SYNCER_CLOUD__CLIENT_SECRET=secret or sim.client_secret,
        SYNCER_LOGGING__FORMAT="json",
    )
    return env


async def fill(url: str, rows: Mapping[str, Iterable[Mapping[str, object]]]) -> None:
    """Insert desired rows, per kind (table columns as keys)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for kind, kind_rows in rows.items():
                batch = [dict(row) for row in kind_rows]
                if batch:
                    await conn.execute(insert(desired_tables[kind]), batch)
    finally:
        await engine.dispose()


def entity(n: int, **values: object) -> dict[str, object]:
    return {"entity_no": f"C-{n:04d}", "name": f"Client {n}", "active": True, **values}


def user(n: int, **values: object) -> dict[str, object]:
    return {
        "email": f"user{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "owner_type": "Staff",
        **values,
    }


def writes(sim: RunningSimulator) -> int:
    """Write requests the simulator answered so far (any status; getting a token is no write)."""
    by_route: dict[str, dict[str, int]] = sim.control.snapshot_stats()["by_route"]
    return sum(
        sum(statuses.values())
        for route, statuses in by_route.items()
        if route.split(" ", 1)[0] in WRITE_METHODS and "auth/token" not in route
    )


def creates(sim: RunningSimulator, kind: str) -> dict[str, int]:
    """Successful creates per natural key: a value above 1 is a duplicate."""
    found: dict[str, int] = sim.control.snapshot_stats()["creates"].get(kind, {})
    return found


def objects(sim: RunningSimulator, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.control.dump()["objects"].get(kind, [])
    return found


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (something another task or process makes true) until it holds;
    gives up after 20 s so a broken test fails instead of hanging."""
    with anyio.fail_after(20):
        for _ in iter(int, 1):
            if condition():
                return
            await anyio.sleep(0.02)


CATEGORIES = ("Business", "Mailing")
ADDRESS_FIELDS = ("name", "address1", "address2", "address3", "city", "country")


def address(n: int, category: str, **values: object) -> dict[str, object]:
    return {
        "entity_no": f"C-{n:04d}",
        "category": category,
        **dict.fromkeys(ADDRESS_FIELDS),
        **values,
    }


def addresses_by_owner(sim: RunningSimulator) -> dict[tuple[str, str], list[dict[str, Any]]]:
    entities = {e["CWGuid"]: e["EntityNo"] for e in objects(sim, "entities")}
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in objects(sim, "addresses"):
        found.setdefault((entities[a["OwnerCWGuid"]], a["AddressCategory"]), []).append(a)
    return found


def assert_one_per_category(sim: RunningSimulator, clients: int) -> None:
    held = addresses_by_owner(sim)
    assert sorted(held) == [
        (f"C-{n:04d}", category) for n in range(1, clients + 1) for category in CATEGORIES
    ]
    assert {len(found) for found in held.values()} == {1}, "an address was created twice"


def clients_with_addresses(clients: int) -> dict[str, list[dict[str, object]]]:
    return {
        "entities": [entity(n) for n in range(1, clients + 1)],
        "entity_addresses": [
            address(n, category, address1=f"{n} {category} St")
            for n in range(1, clients + 1)
            for category in CATEGORIES
        ],
    }
