"""Pacing strategies against the simulator: utilisation, refusals, makespan.

    python -m bench.ratelimit            # the full sweep (about 25 minutes: run it in parts)
    python -m bench.ratelimit --quick    # a small sweep, under a minute
    python -m bench.ratelimit --json     # machine-readable
    python -m bench.ratelimit --strategy syncer --cells "b=10 "   # some strategies and cells

Every run sends the same N requests (``GET entities``) from W workers through one strategy to a
fresh in-process simulator on loopback. Figures come from the simulator's own per-second counts:

* utilisation: requests the server allowed per second, over what the bucket allows us (the share
  left by a noisy neighbour), each second capped at that, counted over every whole second between
  the first (the initial burst) and the last (partial) one, seconds without traffic included;
* of left: our requests from the first second to the last (partial) one over what the bucket
  left us in them (the full bucket we start on, then each refill less what the neighbour really
  took in that second: a Poisson neighbour draws more or less than its average), summed rather
  than capped second by second (tokens kept through a neighbour's busy seconds are not lost);
* refused: the share of our attempts answered 429; *neighbour refused*: the same for its draws;
* makespan / ideal: wall time over the bucket's true schedule (a full bucket at the first request,
  then our share of each refill at each whole second of the server's clock);
* bound: the best utilisation W workers can reach at this latency at all (``W / latency`` requests
  a second), so that a concurrency limit is not mistaken for a pacing one.

Scenarios: ``steady``; ``rate-change`` (rate and burst double half-way); ``neighbour`` (another
program drawing a share of the rate in a pattern: at the refill, evenly, Poisson, on/off bursts);
``two-procs`` (two instances of the strategy, each with half the workers, on one API client).

Nothing here is asserted anywhere; it prints figures.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import anyio

from bench.ratelimit.figures import usage
from bench.ratelimit.strategies import Backoff, Cubic, Fixed, Strategy, Syncer
from bench.schedule import Schedule
from syncer.simulator import (
    ClientSpec,
    Faults,
    Limits,
    NeighbourPattern,
    NoisyNeighbour,
    SimulatorConfig,
    serve_simulator,
)

CLIENT = ClientSpec(client_id="00000000-0000-0000-0000-00000000b0b0", client_secret="bench")
STRATEGIES = ("syncer", "backoff", "fixed", "cubic")


@dataclass(frozen=True)
class Cell:
    workers: int
    rate: int
    burst: int
    cost: int
    latency: float
    jitter: float
    scenario: str = "steady"
    """``steady``, ``rate-change``, ``neighbour`` or ``two-procs``."""
    pattern: NeighbourPattern = NeighbourPattern.REFILL
    share: float = 0.3
    """The neighbour's share of the rate (``neighbour`` only)."""

    @property
    def label(self) -> str:
        lat = f"{self.latency * 1000:.0f}" + (f"±{self.jitter * 1000:.0f}" if self.jitter else "")
        scenario = self.scenario
        if scenario == "neighbour":
            scenario = f"neighbour-{self.pattern.value}-{self.share:.0%}"
        return f"{scenario} w={self.workers} r={self.rate} b={self.burst} c={self.cost} {lat}ms"

    @property
    def neighbour_tokens(self) -> int:
        return round(self.share * self.rate) if self.scenario == "neighbour" else 0


@dataclass(frozen=True)
class Result:
    cell: str
    strategy: str
    requests: int
    utilisation: float
    of_left: float
    """``Usage.of_left`` against what the neighbour really took each second."""
    worst_second: float
    refused: float
    makespan_ratio: float
    bound: float
    follow_seconds: float | None
    neighbour_refused: float | None


def make(name: str, cell: Cell) -> Strategy:
    if name == "syncer":
        return Syncer()
    if name == "backoff":
        return Backoff()
    if name == "fixed":
        return Fixed(cell.rate, cell.burst, cell.cost)
    return Cubic()


def simulator_config(cell: Cell) -> SimulatorConfig:
    """The simulated world of ``cell``: its limits, latency and neighbour."""
    neighbour = cell.neighbour_tokens
    drain = NoisyNeighbour(
        client_id=CLIENT.client_id, tokens_per_second=max(neighbour, 1), pattern=cell.pattern
    )
    faults = Faults(
        seed=1,
        latency_seconds=cell.latency,
        jitter_seconds=cell.jitter,
        noisy_neighbours=(drain,) if neighbour else (),
    )
    limits = Limits(
        replenish_rate=cell.rate,
        burst_capacity=cell.burst,
        requested_tokens=cell.cost,
        auth_limited=False,
    )
    return SimulatorConfig(clients=(CLIENT,), limits=limits, faults=faults)


def schedule_for(
    cell: Cell, change: int | None, taken: Mapping[int, int] | None = None
) -> Schedule:
    """The bucket's true schedule for our requests (the rate doubles after ``change``): each
    refill less the neighbour's share, or less what it really ``taken`` in that second."""
    return Schedule(
        capacity=cell.burst,
        cost=cell.cost,
        rate=lambda second: (2 if change is not None and second > change else 1) * cell.rate,
        neighbour=lambda second: cell.neighbour_tokens if taken is None else taken.get(second, 0),
    )


async def authorisation(http: aiohttp.ClientSession, api_root: str) -> dict[str, str]:
    """The bearer header of one session for the bench's client."""
    async with http.post(
        api_root + "auth/token",
        json={"ClientId": CLIENT.client_id, "ClientSecret": CLIENT.client_secret},
    ) as response:
        token = (await response.json())["Token"]
    return {"Authorization": f"Bearer {token}"}


async def run(cell: Cell, name: str, seconds: float) -> Result:
    share = (cell.rate - cell.neighbour_tokens) / cell.cost
    requests = max(1, round(cell.burst / cell.cost + share * seconds))
    config = simulator_config(cell)
    processes = 2 if cell.scenario == "two-procs" else 1
    strategies = [make(name, cell) for _ in range(processes)]
    async with serve_simulator(config) as sim, aiohttp.ClientSession() as http:
        headers = await authorisation(http, sim.api_root)
        url = sim.api_root + "entities?pageSize=1"
        left = requests
        changed_at: list[int] = []

        async def one(strategy: Strategy) -> None:
            attempt = 0
            while True:
                handle = await strategy.before()
                async with http.get(url, headers=headers) as response:
                    await response.read()
                    status, got = response.status, dict(response.headers)
                await strategy.after(handle, status, got)
                if status != 429:
                    return
                attempt += 1
                if isinstance(strategy, Backoff):
                    await strategy.on_refused(attempt)

        async def worker(strategy: Strategy) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await one(strategy)

        async def change_rate() -> None:
            await anyio.sleep(seconds / 2)
            changed_at.append(math.floor(sim.control.clock.now()))
            sim.control.set_limits(replenish_rate=2 * cell.rate, burst_capacity=2 * cell.burst)

        started, server_start = time.monotonic(), sim.control.clock.now()
        async with anyio.create_task_group() as tg:
            if cell.scenario == "rate-change":
                tg.start_soon(change_rate)
            async with anyio.create_task_group() as workers:
                for index in range(cell.workers):
                    workers.start_soon(worker, strategies[index % processes])
            tg.cancel_scope.cancel()
        makespan = time.monotonic() - started
        server_end = sim.control.clock.now()
        stats = sim.control.snapshot_stats()
    change = changed_at[0] if changed_at else None
    return summarise(
        cell,
        name,
        requests=requests,
        stats=stats,
        makespan=makespan,
        schedule=schedule_for(cell, change),
        span=(server_start, server_end),
        change=change,
    )


def summarise(
    cell: Cell,
    name: str,
    *,
    requests: int,
    stats: dict[str, Any],
    makespan: float,
    schedule: Schedule,
    span: tuple[float, float],
    change: int | None,
) -> Result:
    seconds = stats["per_second"]
    first, last = math.floor(span[0]), math.floor(span[1])
    used = usage(seconds, schedule, first, last)
    follow = None
    if change is not None:
        follow = next(
            (
                float(s["second"] - change)
                for s in seconds
                if s["second"] > change and s["allowed"] >= 0.95 * schedule.requests_in(s["second"])
            ),
            math.inf,
        )
    attempts = stats["allowed"] + stats["denied"]
    ideal = schedule.ideal_makespan(requests, span[0])
    bound = min(1.0, cell.workers / max(cell.latency, 0.004) / schedule.requests_in(first + 1))
    neighbours = list(stats.get("neighbours", {}).values())
    neighbour_refused = None
    of_left = used.of_left
    if cell.neighbour_tokens and neighbours:
        drawn = neighbours[0]["allowed"] + neighbours[0]["denied"]
        neighbour_refused = neighbours[0]["denied"] / drawn if drawn else 0.0
        taken = {int(s): n for s, n in neighbours[0]["taken_per_second"].items()}
        of_left = usage(seconds, schedule_for(cell, change, taken), first, last).of_left
    return Result(
        cell=cell.label,
        strategy=name,
        requests=requests,
        utilisation=used.utilisation,
        of_left=of_left,
        worst_second=used.worst_second,
        refused=stats["denied"] / attempts if attempts else 0.0,
        makespan_ratio=makespan / max(ideal, cell.latency, 0.01),
        bound=bound,
        follow_seconds=follow,
        neighbour_refused=neighbour_refused,
    )


def cells(quick: bool) -> list[Cell]:
    if quick:
        return [Cell(8, 10, 20, 1, 0.002, 0.0), Cell(8, 10, 40, 10, 0.002, 0.0)]
    grid = [
        Cell(workers, rate, burst, cost, latency, jitter)
        for latency, jitter in ((0.002, 0.0), (0.05, 0.025))
        for rate, burst, cost in ((10, 20, 1), (10, 10, 1), (50, 100, 1), (10, 40, 10))
        for workers in (1, 8, 64)
    ]
    costly = [Cell(w, 10, 40, 10, 0.05, 0.025, "costly") for w in (8, 64)] + [
        Cell(w, 60, 240, 60, 0.05, 0.025, "costly") for w in (8, 64)
    ]
    neighbours = [
        Cell(8, 10, 20, 1, 0.05, 0.025, "neighbour", pattern, share)
        for pattern in NeighbourPattern
        for share in (0.1, 0.3, 0.6)
    ]
    two = [Cell(8, r, b, 1, 0.05, 0.025, "two-procs") for r, b in ((10, 20), (10, 10), (50, 100))]
    return [*grid, Cell(8, 10, 20, 1, 0.05, 0.025, "rate-change"), *costly, *neighbours, *two]


def table(results: list[Result]) -> str:
    lines = [
        "| cell | strategy | util | of left | worst s | refused | makespan/ideal | bound "
        "| follow s | neighbour refused |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        follow = "" if r.follow_seconds is None else f"{r.follow_seconds:.0f}"
        theirs = "" if r.neighbour_refused is None else f"{r.neighbour_refused:.2%}"
        lines.append(
            f"| {r.cell} | {r.strategy} | {r.utilisation:.3f} | {r.of_left:.3f} "
            f"| {r.worst_second:.2f} | "
            f"{r.refused:.2%} | {r.makespan_ratio:.2f} | {r.bound:.2f} | {follow} | {theirs} |"
        )
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    lines = [
        "| strategy | median util | min util | median refused | max refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in STRATEGIES:
        mine = [r for r in results if r.strategy == name and r.bound >= 1.0]
        if not mine:
            continue
        utils = [r.utilisation for r in mine]
        refused = [r.refused for r in mine]
        lines.append(
            f"| {name} | {statistics.median(utils):.3f} | {min(utils):.3f} | "
            f"{statistics.median(refused):.2%} | {max(refused):.2%} |"
        )
    return "\n".join(lines)


async def sweep(
    quick: bool, seconds: float, only: tuple[str, ...], matching: str | None
) -> list[Result]:
    results = []
    for cell in cells(quick):
        if matching is not None and matching not in cell.label:
            continue
        for name in only:
            result = await run(cell, name, seconds)
            print(f"  {result.cell} {name}: util {result.utilisation:.3f}", file=sys.stderr)
            results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sweep, under a minute")
    parser.add_argument("--json", action="store_true", help="JSON instead of markdown")
    parser.add_argument("--seconds", type=float, default=None, help="steady seconds per run")
    parser.add_argument("--strategy", action="append", choices=STRATEGIES)
    parser.add_argument("--cells", metavar="TEXT", help="only cells whose label contains TEXT")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    only = tuple(args.strategy or STRATEGIES)
    results = anyio.run(sweep, args.quick, seconds, only, args.cells, backend="asyncio")
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(table(results))
        print()
        print("Cells a strategy can saturate at all (bound = 1):")
        print(summary(results))


if __name__ == "__main__":
    main()
