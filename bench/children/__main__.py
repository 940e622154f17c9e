"""``python -m bench.children``: the requests a no-op run costs, with and without addresses.

An in-process simulator holds N clients, each with one address, all already in step with the
desired state (a SQLite database). Four runs of ``syncer apply`` are counted, request by request,
from the simulator's own statistics (token requests excluded):

- *no addresses managed*: the firm syncs clients only (``desired_entity_addresses`` empty);
- *first run with addresses*: no client is known in step yet, so every client's addresses are
  read once (and the clients marked in step);
- *nightly no-op*: desired addresses unchanged since the last successful apply;
- *--refresh* (also what the weekly re-read costs): every client read again;
- *one client edited*: one desired address changed.

Nothing is asserted; the figures are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio
from pydantic import SecretStr
from sqlalchemy import delete, insert, update

from syncer import logs
from syncer.settings import CloudSettings, DatabaseSettings, Settings
from syncer.simulator import Limits, RunningSimulator, SimulatorConfig, serve_simulator
from syncer.store.db import create_engine
from syncer.store.schema import upgrade
from syncer.store.tables import desired_tables
from syncer.usecases import ApplyOptions, apply_firm

PLAIN = ApplyOptions()
LIMITS = Limits(replenish_rate=100_000, burst_capacity=100_000, requested_tokens=1)


def requests(sim: RunningSimulator) -> int:
    by_route: dict[str, dict[str, int]] = sim.control.snapshot_stats()["by_route"]
    return sum(sum(s.values()) for route, s in by_route.items() if "auth/token" not in route)


def seed(sim: RunningSimulator, n: int) -> None:
    for i in range(1, n + 1):
        made = sim.control.seed("entities", {"EntityNo": f"C-{i:05d}", "Name": f"Client {i}"})
        sim.control.seed(
            "addresses",
            {"OwnerCWGuid": made["CWGuid"], "AddressCategory": "Business", "City": f"City {i}"},
        )


async def fill(url: str, n: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(desired_tables["entities"]),
                [{"entity_no": f"C-{i:05d}", "name": f"Client {i}"} for i in range(1, n + 1)],
            )
    finally:
        await engine.dispose()


async def addresses(url: str, n: int, *, present: bool) -> None:
    table = desired_tables["entity_addresses"]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(table))
            if present:
                rows = [
                    {"entity_no": f"C-{i:05d}", "category": "Business", "city": f"City {i}"}
                    for i in range(1, n + 1)
                ]
                await conn.execute(insert(table), rows)
    finally:
        await engine.dispose()


async def edit_one(url: str) -> None:
    table = desired_tables["entity_addresses"]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(table).where(table.c.entity_no == "C-00001").values(city="Moved")
            )
    finally:
        await engine.dispose()


async def main(n: int) -> None:
    logs.configure("warning", "json")
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await upgrade(url)
        await fill(url, n)
        async with serve_simulator(SimulatorConfig(limits=LIMITS)) as sim:
            seed(sim, n)
            settings = Settings(
                database=DatabaseSettings(url=url),
                cloud=CloudSettings(
                    firm=sim.firm,
                    base_url=sim.base_url,
                    client_id=sim.client_id,
                    client_secret=SecretStr(sim.client_secret),
                    max_in_flight=32,
                ),
            )

            async def run(label: str, options: ApplyOptions = PLAIN) -> None:
                before, started = requests(sim), time.perf_counter()
                result = await apply_firm(settings, options)
                assert result.exit_code == 0, result.message
                rows.append((label, requests(sim) - before, time.perf_counter() - started))

            await run("adopt the clients (setup, not counted below)")
            rows.clear()
            await run("no-op, addresses not managed")
            await addresses(url, n, present=True)
            await run("first run with addresses (no client known in step)")
            await run("nightly no-op with addresses")
            await run("--refresh (= the weekly re-read)", ApplyOptions(refresh=True))
            await edit_one(url)
            await run("one client's address edited")
    print(f"\n{n:,} clients, one address each; requests counted by the simulator\n")
    print("| run | requests | seconds |")
    print("|---|---:|---:|")
    for label, count, seconds in rows:
        print(f"| {label} | {count:,} | {seconds:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args()
    anyio.run(main, args.clients, backend="asyncio")
