"""``python -m tests.cloud.lagging_loop``: the limiter in a process whose event loop lags.

``bench.scale`` saw 13-19 429s with four workers when the machine's two cores were saturated,
0-2 otherwise. A starved process runs each callback late: the limiter's grant is stamped when
the task runs, but the request leaves later, and the answer is taken in later than it came.
Here one ``RateLimiter`` per firm meets Spring's bucket (``virtual_time.Server``) on a
``VirtualClock``, and the loop's lag is modelled as *stalls* (the process gets no CPU for a
while: whatever becomes ready in one runs at its end, in order) plus a small delay per step. The
limiter sees the lag only through its own clock: its sleeps end late, its grants leave late, its
answers arrive late. Every 429 is counted by cause: whether the request reached the server in a
later server second than the one it was granted in (``crossed``), and in which mode the bucket
was (credits, or batches on what looks like a slow wire). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
from collections import Counter

import anyio

from syncer.cloud.ratelimit import RateLimiter
from syncer.simulator import Limits
from tests.cloud.fixed_work import PLACES
from tests.cloud.virtual_time import Server, VirtualClock


class Stalls:
    """When the client's process gets no CPU (seconds on the monotonic clock), and so when
    work that became ready at some moment runs."""

    def __init__(self, intervals: list[tuple[float, float]]) -> None:
        self.starts = [start for start, _ in intervals]
        self.ends = [end for _, end in intervals]

    @classmethod
    def at_random(cls, rng: random.Random, every: float, mean: float, seconds: float) -> Stalls:
        """Stalls a mean ``every`` seconds apart, of ``mean`` seconds each (exponential)."""
        intervals = []
        at = 0.0
        while every > 0 and at < seconds:
            at += rng.expovariate(1.0 / every)
            length = rng.expovariate(1.0 / mean)
            intervals.append((at, at + length))
            at += length
        return cls(intervals)

    def resume(self, moment: float) -> float:
        """When work that became ready at ``moment`` runs."""
        index = bisect.bisect_right(self.starts, moment) - 1
        if index >= 0 and moment < self.ends[index]:
            return self.ends[index]
        return moment


class LaggingClock:
    """The client's view of the shared clock: every sleep ends when the process runs again,
    ``step`` seconds after it became ready at the earliest."""

    def __init__(self, clock: VirtualClock, stalls: Stalls, step: float) -> None:
        self._clock = clock
        self._stalls = stalls
        self._step = step

    def now(self) -> float:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def ready_in(self, seconds: float) -> float:
        """Seconds until work that is ready in ``seconds`` has run."""
        ready = self._clock.monotonic() + seconds
        return self._stalls.resume(ready) + self._step - self._clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(self.ready_in(max(0.0, seconds)))


async def drive_lagging(
    clock: VirtualClock,
    lagging: LaggingClock,
    limiter: RateLimiter,
    server: Server,
    *,
    workers: int,
    seconds: float,
    wire: float = 0.0005,
    counts: Counter[str] | None = None,
) -> None:
    """``workers`` tasks sending back to back through ``limiter`` for ``seconds``: a request
    leaves when the process next runs after its grant and takes ``wire`` to the server; its
    answer takes ``wire`` back and is taken in when the process runs. 429s land in ``counts``
    by cause (the bucket's mode, and whether the request reached the server in a later server
    second than it was granted in)."""
    end = clock.now() + seconds

    async def worker() -> None:
        while clock.now() < end:
            grant = await limiter.acquire("entities")
            granted = clock.now()
            batched = limiter.stats.batch is not None
            await clock.sleep(lagging.ready_in(0.0) + wire)
            arrived = clock.now()
            status, headers = server.handle("entities")
            await clock.sleep(lagging.ready_in(wire))
            limiter.observe(grant, status, headers)
            if status == 429 and counts is not None:
                crossed = math.floor(arrived) > math.floor(granted)
                mode = "batches" if batched else "credits"
                counts[f"429 {mode} {'crossed' if crossed else 'same second'}"] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
        await clock.run(end + 5)
        tg.cancel_scope.cancel()


async def run(args: argparse.Namespace, seed: int, place: float) -> Counter[str]:
    clock = VirtualClock(start=1_700_000_000 + place)
    stalls = Stalls.at_random(random.Random(seed), args.every, args.stall, args.seconds + 10)
    lagging = LaggingClock(clock, stalls, args.step)
    limiter = RateLimiter(lagging)
    server = Server(clock, Limits(replenish_rate=args.rate, burst_capacity=args.burst))
    counts: Counter[str] = Counter()
    await drive_lagging(
        clock,
        lagging,
        limiter,
        server,
        workers=args.workers,
        seconds=args.seconds,
        wire=args.wire,
        counts=counts,
    )
    counts["allowed"] = server.count(True)
    counts["429"] = server.count(False)
    return counts


async def main(args: argparse.Namespace) -> None:
    total: Counter[str] = Counter()
    for seed in range(1, args.seeds + 1):
        for place in PLACES:
            counts = await run(args, seed, place)
            total.update(counts)
            if args.verbose:
                print(seed, place, dict(sorted(counts.items())))
    ideal = args.rate * args.seconds * args.seeds * len(PLACES)
    print(
        f"stall every {args.every:g} s mean {args.stall:g} s, step {args.step * 1000:g} ms: "
        f"allowed/ideal {total['allowed'] / ideal:.3f}, "
        + ", ".join(f"{k}: {v}" for k, v in sorted(total.items()) if k.startswith("429"))
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.cloud.lagging_loop", description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--every", type=float, default=1.0, help="mean seconds between stalls")
    parser.add_argument("--stall", type=float, default=0.1, help="mean stall, seconds")
    parser.add_argument("--step", type=float, default=0.002, help="delay per step, seconds")
    parser.add_argument("--wire", type=float, default=0.0005, help="one way, seconds")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    anyio.run(main, parse())
