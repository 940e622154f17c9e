"""``python -m tests.cloud.fixed_work N RATE BURST LATENCY [split]``: a fixed amount of work in
virtual time, makespan over the ideal.

``bench.apply`` measures the same in real time, where each run starts at a random moment of the
server's second and one run says little. Here N requests go through one ``RateLimiter`` against
Spring's bucket (``virtual_time.Server``) on a ``VirtualClock``, for seeds 1-3 of the latency's
jitter (+-30 %, all of it before the server's limiter, or ``split`` half each way) and four
places of our start in the server's second, each run deterministic and done in milliseconds. The
ideal is ``bench.apply``'s: ``(N - burst) / rate + latency``. Beside each run's ratio stands the
schedule bound (``bound``): the best any sender sending its first request alone could reach, so
that what a run loses to the limiter shows apart from what the start cost. Not a test: it prints
figures, for tracing where a cell loses time (``--seconds`` prints the requests each server
second allowed).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable

import anyio

from bench.schedule import Schedule
from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator import Limits
from tests.cloud.virtual_time import Server, VirtualClock

Wire = Callable[[], float]
"""One way's latency, a draw each call."""

PLACES = (0.1, 0.37, 0.6, 0.85)
"""Where in the server's second the run starts."""


def wire(args: argparse.Namespace, rng: random.Random) -> tuple[Wire, Wire, float, float]:
    """The ways there and back, drawing from ``rng``, and the shortest each can take."""
    latency: float = args.latency
    low, high = (0.35, 0.65) if args.split else (0.7, 1.3)

    def there() -> float:
        return rng.uniform(low, high) * latency

    def back() -> float:
        return there() if args.split else 0.0005

    return there, back, low * latency, 0.35 * latency if args.split else 0.0005


def ideal(args: argparse.Namespace) -> float:
    return float((args.n - args.burst) / args.rate + args.latency)


def bound(args: argparse.Namespace, place: float, seed: int) -> float:
    """The schedule bound over ideal (``bench.schedule``): the best makespan of a sender that
    knows where the server's seconds begin, obeys the rule that the first request goes alone, and
    has every later request take the shortest way there and back. The first request's own draws
    are the run's (it goes first, alone); the rest leave when its answer is back."""
    there, back, shortest_there, shortest_back = wire(args, random.Random(seed))
    first_there, first_back = there(), back()
    schedule = Schedule.steady(args.rate, capacity=args.burst)
    passed = schedule.bound(args.n, place, alone=[first_there], latency=first_back + shortest_there)
    return (passed + shortest_back) / ideal(args)


async def run(args: argparse.Namespace, place: float, seed: int) -> tuple[float, int]:
    """One run: makespan over ideal, and requests refused."""
    clock = VirtualClock(start=1_700_000_000 + place)
    limiter = RateLimiter(clock)
    limits = Limits(replenish_rate=args.rate, burst_capacity=args.burst, requested_tokens=1)
    server = Server(clock, limits)
    there, back, _, _ = wire(args, random.Random(seed))
    started = allowed = refused = 0
    start = last = clock.now()

    async def worker() -> None:
        nonlocal started, allowed, refused, last
        while started < args.n + refused:  # a refused request is sent again
            started += 1
            grant = await limiter.acquire("entities")
            await clock.sleep(there())
            status, headers = server.handle("entities")
            await clock.sleep(back())
            limiter.observe(grant, status, headers)
            if status == 200:
                allowed, last = allowed + 1, clock.now()
            else:
                refused += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.run, start + 10 * args.n / args.rate + 60)
        async with anyio.create_task_group() as workers:
            for _ in range(args.workers):
                workers.start_soon(worker)
        tg.cancel_scope.cancel()
    if args.seconds:
        first = math.floor(start)
        print(sorted((s - first, ok, n) for (s, ok), n in server.per_second.items()))
    return (last - start) / ideal(args), refused


async def main(args: argparse.Namespace) -> None:
    ratios, bounds = [], []
    for seed in (1, 2, 3):
        for place in PLACES:
            ratio, refused = await run(args, place, seed)
            ratios.append(ratio)
            bounds.append(bound(args, place, seed))
            print(
                f"seed {seed} start {place:.2f} into the second: {ratio:.3f}, refused {refused}"
                f" (bound {bounds[-1]:.3f})"
            )
    print(
        f"mean {statistics.fmean(ratios):.3f} max {max(ratios):.3f}"
        f" (bound: mean {statistics.fmean(bounds):.3f} max {max(bounds):.3f})"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.cloud.fixed_work", description=__doc__)
    parser.add_argument("n", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("burst", type=int)
    parser.add_argument("latency", type=float, help="seconds")
    parser.add_argument("split", nargs="?", choices=["split"], help="latency half each way")
    parser.add_argument("--workers", type=int, help="requests in flight (default: as apply)")
    parser.add_argument("--seconds", action="store_true", help="print each server second")
    args = parser.parse_args()
    if args.workers is None:  # what apply keeps in flight: Little's law with headroom, or a burst
        args.workers = max(args.burst, math.ceil(args.rate * args.latency * 1.3 * 1.25) + 2)
    return args


if __name__ == "__main__":
    anyio.run(main, parse())
