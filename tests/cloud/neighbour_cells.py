"""``python -m tests.cloud.neighbour_cells [--seconds 8] [--shares ...] [--patterns ...]``:
``bench.ratelimit``'s neighbour cells in virtual time, counted as the bench counts.

``bench.ratelimit --cells neighbour`` runs each cell once in real time, from a random moment of
the server's second, on a loaded machine: one run says little, and six disagree. Here the same
cell (8 workers, rate 10, burst 20, 50+-25 ms on the way to the server, a neighbour drawing its
share in its pattern, the bench's number of requests, each refused one sent again) goes through
one ``RateLimiter`` against Spring's bucket (``virtual_time.Server``) on a ``VirtualClock``, for
seeds of the latency's jitter and the neighbour's Poisson arrivals and four places of our start in
the server's second, each run deterministic. The figures are the bench's own (``summarise``):
utilisation of what the neighbour leaves, every second counted and capped at what the bucket
allowed in it; syncer's refused share; the neighbour's refused share; makespan over the ideal.
``--steady`` runs the bench's paced steady cells instead (no neighbour), which a change for
neighbours must not make worse. Not a test: it prints figures, per cell the mean and the worst
over the runs.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from typing import Any

import anyio

from bench.ratelimit.__main__ import Cell, Result, schedule_for, summarise
from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator import Limits, NeighbourPattern
from tests.cloud.fixed_work import PLACES
from tests.cloud.virtual_time import Server, VirtualClock

BACK = 0.001
"""Seconds of the way back (the bench's simulator injects all its latency before the limiter)."""


def cell_of(pattern: NeighbourPattern, share: float) -> Cell:
    """The bench's neighbour cell (``bench.ratelimit.cells``)."""
    return Cell(8, 10, 20, 1, 0.05, 0.025, "neighbour", pattern, share)


async def run(cell: Cell, seconds: float, place: float, seed: int) -> Result:
    """One run of ``cell`` as ``bench.ratelimit.run`` makes it, starting ``place`` into the
    server's second, the jitter and the neighbour drawn from ``seed``."""
    clock = VirtualClock(start=1_700_000_000 + place)
    limiter = RateLimiter(clock)
    limits = Limits(replenish_rate=cell.rate, burst_capacity=cell.burst, requested_tokens=cell.cost)
    server = Server(
        clock,
        limits,
        neighbour_tokens=cell.neighbour_tokens,
        neighbour_pattern=cell.pattern,
        neighbour_seed=seed,
    )
    rng = random.Random(seed)
    share = (cell.rate - cell.neighbour_tokens) / cell.cost
    requests = max(1, round(cell.burst / cell.cost + share * seconds))
    left, passed = requests, 0
    start = end = clock.now()

    async def worker() -> None:
        nonlocal left, passed, end
        while left > 0:
            left -= 1
            while True:
                grant = await limiter.acquire("entities")
                await clock.sleep(max(0.0, cell.latency + rng.uniform(-1, 1) * cell.jitter))
                status, headers = server.handle("entities")
                await clock.sleep(BACK)
                limiter.observe(grant, status, headers)
                end = clock.now()
                if status != 429:
                    passed += 1
                    break

    async with anyio.create_task_group() as workers:
        for _ in range(cell.workers):
            workers.start_soon(worker)
        # Workers that are still waiting when the clock stops have stalled: cancelled, and the
        # run reported as never finishing rather than waiting for ever.
        await clock.run(start + 20 * seconds + 60)
        workers.cancel_scope.cancel()
    makespan = end - start if passed == requests else math.inf
    if passed < requests:
        end = clock.now()
    return summarise(
        cell,
        "syncer",
        requests=requests,
        stats=stats(server),
        makespan=makespan,
        schedule=schedule_for(cell, None),
        span=(start, end),
        change=None,
    )


def stats(server: Server) -> dict[str, Any]:
    """The virtual server's counts in the shape of the simulator's ``snapshot_stats``."""
    seconds = sorted({second for second, _ in server.per_second})
    drain = server.neighbour
    return {
        "per_second": [{"second": s, "allowed": server.per_second[(s, True)]} for s in seconds],
        "allowed": server.count(True),
        "denied": server.count(False),
        "neighbours": {
            "neighbour": {
                "allowed": drain.allowed,
                "denied": drain.denied,
                "taken_per_second": dict(drain.taken),
            }
        },
    }


def chosen(args: argparse.Namespace) -> list[Cell]:
    """The neighbour cells asked for, or with ``--steady`` the bench's paced steady cells (no
    neighbour: what a change for neighbours must not make worse)."""
    if args.steady:
        return [
            Cell(workers, rate, burst, 1, latency, jitter)
            for latency, jitter in ((0.002, 0.0), (0.05, 0.025))
            for rate, burst in ((10, 20), (50, 100))
            for workers in (1, 8, 64)
        ]
    return [cell_of(pattern, share) for pattern in args.patterns for share in args.shares]


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.seconds:g} s cells, seeds {args.seeds}, starts {PLACES} into the second;"
        " mean (worst) over the runs"
    )
    print("| cell | util | of left | refused | neighbour refused | makespan/ideal |")
    print("|---|---:|---:|---:|---:|---:|")
    for cell in chosen(args):
        if args.cells is not None and args.cells not in cell.label:
            continue
        results = []
        for seed in args.seeds:
            for place in PLACES:
                results.append(await run(cell, args.seconds, place, seed))
                if args.each:
                    print(f"  seed {seed} start {place}: {results[-1]}")
        util = [r.utilisation for r in results]
        of_left = [r.of_left for r in results]
        refused = [r.refused for r in results]
        theirs = [r.neighbour_refused or 0.0 for r in results]
        ratio = [r.makespan_ratio for r in results]
        print(
            f"| {cell.label} "
            f"| {statistics.fmean(util):.3f} ({min(util):.3f}) "
            f"| {statistics.fmean(of_left):.3f} ({min(of_left):.3f}) "
            f"| {statistics.fmean(refused):.2%} ({max(refused):.2%}) "
            f"| {statistics.fmean(theirs):.2%} ({max(theirs):.2%}) "
            f"| {statistics.fmean(ratio):.2f} ({max(ratio):.2f}) |"
        )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cloud.neighbour_cells", description=__doc__
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="the bench's --seconds")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.1, 0.3, 0.6])
    parser.add_argument(
        "--patterns",
        type=NeighbourPattern,
        nargs="+",
        default=list(NeighbourPattern),
        help=" ".join(p.value for p in NeighbourPattern),
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steady", action="store_true", help="the paced cells, no neighbour")
    parser.add_argument("--cells", metavar="TEXT", help="only cells whose label contains TEXT")
    parser.add_argument("--each", action="store_true", help="print every run's figures")
    args = parser.parse_args()
    if not math.isfinite(args.seconds) or args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


if __name__ == "__main__":
    anyio.run(main, parse())
