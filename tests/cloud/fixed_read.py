"""``python -m tests.cloud.fixed_read LATENCY RATE [--entities N] [--seeds ...]``: ``bench.read``'s
``expected`` cell in virtual time, makespan over the schedule bound.

``bench.read`` measures in real time, where the machine's load moves each figure and one run says
little. Here the simulator answers over real HTTP on loopback with its injected latency (+-30 %,
seeded) sleeping on the client's ``VirtualClock`` (``slow_wire``), so each run is deterministic.
As in ``bench.read``: burst = rate, a warm-up read of the roles list (then a pause of
``slow_wire.DRAIN_SECONDS``, as after any piece of work there), then the list read told how many
entities to expect; the bound is ``bench.schedule``'s, from where in the server's second the read
starts, for seeds of the latency's jitter and four places of the start in the server's second.
Not a test: it prints figures, for tracing where a cell loses time.
"""

from __future__ import annotations

import argparse
import statistics

import anyio

from bench.schedule import Schedule, trips
from syncer.cloud.client import CloudClient
from syncer.model import ENTITIES
from syncer.simulator import Limits, SimulatorConfig, serve_simulator
from syncer.simulator.config import Faults
from tests.cloud.fixed_work import PLACES
from tests.cloud.slow_wire import ServerClock, in_virtual_time
from tests.cloud.virtual_time import VirtualClock
from tests.fixtures.simulator import cloud_settings

PAGE = 100


async def run(args: argparse.Namespace, place: float, seed: int) -> tuple[float, float, int]:
    """One read: its makespan, the bound, and requests refused."""
    clock = VirtualClock(start=1_700_000_000 + place)
    server = ServerClock(clock)
    faults = Faults(seed=seed, latency_seconds=args.latency, jitter_seconds=0.3 * args.latency)
    limits = Limits(replenish_rate=args.rate, burst_capacity=args.rate)
    config = SimulatorConfig(limits=limits, faults=faults, clock=server)
    async with serve_simulator(config) as sim:
        for n in range(args.entities):
            sim.control.seed("entities", {"EntityNo": f"R-{n:06d}", "Name": f"Client {n}"})
        async with CloudClient.open(cloud_settings(sim), clock=clock) as client:
            await in_virtual_time(clock, server, client.stats, client.list_roles)
            before = sim.control.snapshot_stats()["by_route"]
            levels = list(sim.control.limiter.store.snapshot().values())  # none: a full bucket
            started = clock.now()
            read = lambda: client.list_objects(ENTITIES, expected=args.entities)  # noqa: E731
            _, took = await in_virtual_time(clock, server, client.stats, read)
        denied = int(sim.control.snapshot_stats()["denied"])
    drawn = sum(sum(n.values()) for n in before.values())
    alone, least = trips(faults, drawn, alone=1)
    level = (levels[0]["refreshed"], levels[0]["tokens"]) if levels else None
    schedule = Schedule.steady(args.rate, capacity=args.rate)
    needed = args.entities // PAGE + 1
    bound = schedule.bound(needed, started, alone=alone, latency=least, level=level)
    return took, bound, denied


async def main(args: argparse.Namespace) -> None:
    ratios: list[float] = []
    refused = 0
    for seed in args.seeds:
        for place in PLACES:
            took, bound, denied = await run(args, place, seed)
            refused += denied
            if bound > 0:
                ratios.append(took / bound)
                shown = f"{took / bound:.3f}"
            else:  # at 0 ms a read the bucket holds has a bound of 0: no ratio
                shown = f"{took:.3f} s against a bound of 0"
            print(f"seed {seed} start {place:.2f} into the second: {shown}, refused {denied}")
    mean = f"{statistics.fmean(ratios):.3f} max {max(ratios):.3f}" if ratios else "- (bound 0)"
    print(f"mean {mean} refused {refused}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.cloud.fixed_read", description=__doc__)
    parser.add_argument("latency", type=float, help="seconds")
    parser.add_argument("rate", type=int)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    return parser.parse_args()


if __name__ == "__main__":
    anyio.run(main, parse(), backend="asyncio")
