"""Simulators in a process of their own, so they share no event loop (nor GIL) with what is
measured: ``python -m bench.simprocess --firms N --rate R [--burst B] [--latency S --jitter F]``.

The server side prints one JSON line per firm (name, base URL, client id and secret), then
``ready``, and serves until its stdin closes; then it prints one JSON line of totals (requests
allowed and refused, creates counted twice). ``simulator_process`` is the bench's side: it starts
the process, hands over the firms, and fills the totals on the way out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from syncer.simulator import Limits, SimulatorConfig, serve_simulator
from syncer.simulator.config import Faults
from syncer.simulator.server import API_PATH


@dataclass(frozen=True)
class ServedFirm:
    """One simulator of the process, as a client needs it."""

    name: str
    base_url: str
    client_id: str
    client_secret: str

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/{self.name}/{API_PATH}"


@dataclass
class SimulatorProcess:
    pid: int
    firms: list[ServedFirm]
    totals: dict[str, int] = field(default_factory=dict)
    """Filled when the process ends: ``allowed``, ``denied``, ``duplicates``."""


@asynccontextmanager
async def simulator_process(
    firms: int, rate: float, *, burst: int | None = None, latency: float = 0.0, jitter: float = 0.0
) -> AsyncIterator[SimulatorProcess]:
    """Serve ``firms`` simulators (each its own bucket) in a new process until the block ends."""
    command = [sys.executable, "-m", "bench.simprocess", "--firms", str(firms), "--rate", str(rate)]
    command += ["--burst", str(burst or max(1, int(rate)))]
    command += ["--latency", str(latency), "--jitter", str(jitter)]
    async with await anyio.open_process(command) as process:
        assert process.stdin is not None
        lines = _lines(process)
        found = []
        async for line in lines:
            if line == "ready":
                break
            found.append(ServedFirm(**json.loads(line)))
        served = SimulatorProcess(process.pid, found)
        yield served
        await process.stdin.aclose()
        async for line in lines:
            served.totals.update(json.loads(line))


async def _lines(process: Process) -> AsyncIterator[str]:
    assert process.stdout is not None
    buffer = ""
    async for chunk in TextReceiveStream(process.stdout):
        buffer += chunk
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            yield line


async def serve(args: argparse.Namespace) -> None:
    limits = Limits(replenish_rate=args.rate, burst_capacity=args.burst)
    faults = Faults(seed=1, latency_seconds=args.latency, jitter_seconds=args.latency * args.jitter)
    async with AsyncExitStack() as stack:
        sims = []
        for n in range(args.firms):
            name = f"s{n:03d}"
            config = SimulatorConfig(firm=name, limits=limits, faults=faults, seed=n)
            sim = await stack.enter_async_context(serve_simulator(config))
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


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.simprocess", description=__doc__)
    parser.add_argument("--firms", type=int, default=1)
    parser.add_argument("--rate", type=float, required=True, help="each bucket's rate per second")
    parser.add_argument("--burst", type=int, required=True, help="each bucket's capacity")
    parser.add_argument("--latency", type=float, default=0.0, help="injected latency, seconds")
    parser.add_argument("--jitter", type=float, default=0.0, help="share of the latency, +-")
    return parser.parse_args(argv)


if __name__ == "__main__":
    anyio.run(serve, parse(), backend="asyncio")
