"""``python -m bench.scale.sims FIRMS RATE``: serve one simulator per firm in this process.

Prints one JSON line per firm (name, base URL, client id and secret), then ``ready``, and serves
until stdin closes; then prints one JSON line of totals (requests allowed and refused, creates
counted twice). A process of its own, so the simulators do not share an event loop (or a GIL)
with the workers being measured.
"""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack

import anyio

from syncer.simulator import Limits, SimulatorConfig, serve_simulator


async def main(firms: int, rate: float) -> None:
    limits = Limits(replenish_rate=rate, burst_capacity=max(1, int(rate)))
    async with AsyncExitStack() as stack:
        sims = []
        for n in range(firms):
            name = f"s{n:03d}"
            sim = await stack.enter_async_context(
                serve_simulator(SimulatorConfig(firm=name, limits=limits, seed=n))
            )
            sims.append(sim)
            line = {
                "name": name,
                "base_url": sim.base_url,
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            }
            print(json.dumps(line), flush=True)
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)
        totals = {"allowed": 0, "denied": 0, "duplicates": 0}
        for sim in sims:
            stats = sim.control.snapshot_stats()
            totals["allowed"] += stats["allowed"]
            totals["denied"] += stats["denied"]
            per_key = stats["creates"].get("entities", {})
            totals["duplicates"] += sum(count - 1 for count in per_key.values() if count > 1)
        print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]), float(sys.argv[2]), backend="asyncio")
