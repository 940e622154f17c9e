"""``python -m bench.read``: reading one firm's list of N entities at a latency, three pagings.

The simulator runs in-process (real HTTP on loopback, real clock) with the given rate, a burst of
one second of it, and latency injected per request (``--jitter`` of it either way, seeded). Each
cell reads the whole list through ``CloudClient.list_objects``: with the window of pages in
flight (``concurrent``); the same told how many objects to expect (``expected``: what ``syncer
plan`` does, with desired state's row count, so the window opens at the first page instead of
after it); and with one page at a time, as syncer read before issue #16 (``sequential``, the
baseline; same client, window fixed at 1). Ideal makespan:
``(requests - burst) / rate + latency`` with ``requests`` the pages the list needs, as if the
burst went at once, then one request per 1/rate, plus the last answer's latency. The clock starts
after a warm-up read of the (one-page) roles list: the token request and the first answers that
teach the client the rate and latency are a cost of the session, paid once, not of the paging.
Pages past the end come from the simulator's own count of list requests.

The issue's ideal assumes a continuous refill and counts no round trip but the last; it is not a
lower bound. ``bound`` is one (``bench.schedule``): the least makespan any sender can reach
against this simulator's real schedule, which refills at whole seconds of its clock and never past
the burst, from where in the server's second the read starts and with the bucket as the warm-up
left it. It assumes that the list's first page goes alone (its family's cost is not known until it
is answered: issue #14), taking the latency the simulator's seeded faults give the first request
after the warm-up, and that every other page takes the least latency the jitter allows, all of it
on the way to the bucket; the pages the list needs (``entities / 100 + 1``, the last one short)
pass it, and nothing else counts: no request past the end, no time in the client or the server.
Nothing is asserted; figures are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
from pydantic import SecretStr

from bench.schedule import Schedule, trips
from syncer import logs
from syncer.cloud.client import CloudClient
from syncer.model import ENTITIES
from syncer.settings import CloudSettings
from syncer.simulator import Limits, SimulatorConfig, serve_simulator
from syncer.simulator.config import Faults

PAGE = 100


class OnePage:
    """The window of today's sequential paging: one page in flight, whatever is learned."""

    cap = 1

    def for_pages(self, family: str, *, needed: bool = False) -> int:
        return 1


@dataclass(frozen=True)
class Cell:
    paging: str
    entities: int
    latency_ms: int
    rate: int
    makespan: float
    ideal: float
    bound: float
    past_end: int
    denied: int

    def ratio(self, least: float) -> str:
        """Makespan over ``least`` (the ideal or the bound); none where it is under 0.1 s (the
        burst holds every page and nothing is waited for: any overhead would read as an
        arbitrary multiple)."""
        return f"{self.makespan / least:.2f}" if least >= 0.1 else "n/a"


async def measure(paging: str, entities: int, latency: float, rate: int, jitter: float) -> Cell:
    faults = Faults(seed=1, latency_seconds=latency, jitter_seconds=latency * jitter)
    limits = Limits(replenish_rate=rate, burst_capacity=rate)
    async with serve_simulator(SimulatorConfig(limits=limits, faults=faults)) as sim:
        for n in range(entities):
            sim.control.seed("entities", {"EntityNo": f"R-{n:06d}", "Name": f"Client {n}"})
        settings = CloudSettings(
            firm=sim.firm,
            base_url=sim.base_url,
            client_id=sim.client_id,
            client_secret=SecretStr(sim.client_secret),
        )
        async with CloudClient.open(settings) as client:
            if paging == "sequential":
                client.in_flight_target = OnePage()  # type: ignore[assignment]
            await client.list_roles()  # warm: a token, and the rate and latency learned
            before = sim.control.snapshot_stats()["by_route"]
            (level,) = sim.control.limiter.store.snapshot().values()
            started_at = time.time()  # the simulator's clock: where in its second the read starts
            started = time.monotonic()
            expected = entities if paging == "expected" else None
            read = await client.list_objects(ENTITIES, expected=expected)
            makespan = time.monotonic() - started
        assert len(read) == entities
        await anyio.sleep(latency * (1 + jitter) + 0.2)  # answers to pages dropped past the end
        stats = sim.control.snapshot_stats()
    needed = entities // PAGE + 1
    lists = sum(stats["by_route"].get("GET entities", {}).values())
    alone, least = trips(faults, sum(sum(n.values()) for n in before.values()), alone=1)
    schedule = Schedule.steady(rate, capacity=limits.burst_capacity)
    bound = schedule.bound(
        needed,
        started_at,
        alone=alone,
        latency=least,
        level=(level["refreshed"], level["tokens"]),
    )
    return Cell(
        paging=paging,
        entities=entities,
        latency_ms=round(latency * 1000),
        rate=rate,
        makespan=makespan,
        ideal=max(needed + 2 - rate, 0) / rate + latency,
        bound=bound,
        past_end=lists - needed,
        denied=stats["denied"],
    )


def table(cells: list[Cell], command: str) -> str:
    lines = [
        "# bench/read: reading a list of entities, concurrent paging vs one page at a time",
        "",
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Command: `{command}`",
        "",
        "| entities | latency ms | rate/s | paging | makespan s | ideal s | makespan / ideal "
        "| bound s | makespan / bound | pages past end | 429s |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c.entities} | {c.latency_ms} | {c.rate} | {c.paging} | {c.makespan:.2f} "
        f"| {c.ideal:.2f} | {c.ratio(c.ideal)} | {c.bound:.2f} | {c.ratio(c.bound)} "
        f"| {c.past_end} | {c.denied} |"
        for c in cells
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    logs.configure("warning", "json")
    cells: list[Cell] = []
    for entities in args.entities:
        for rate in args.rates:
            for latency_ms in args.latencies:
                for paging in args.pagings:
                    cell = await measure(paging, entities, latency_ms / 1000, rate, args.jitter)
                    print(table([cell], "").splitlines()[-1], flush=True)
                    cells.append(cell)
    report = table(cells, args.command)
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.read", description=__doc__)
    parser.add_argument("--entities", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--latencies", type=int, nargs="+", default=[0, 50, 250, 1000], help="ms")
    parser.add_argument("--rates", type=int, nargs="+", default=[20, 50, 200])
    parser.add_argument("--jitter", type=float, default=0.3, help="share of the latency, +-")
    parser.add_argument(
        "--pagings",
        nargs="+",
        choices=["concurrent", "expected", "sequential"],
        default=["concurrent", "expected", "sequential"],
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    args.command = "python -m bench.read " + " ".join(argv or [])
    return args


if __name__ == "__main__":
    import sys

    anyio.run(main, parse(sys.argv[1:]), backend="asyncio")
