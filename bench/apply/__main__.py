"""``python -m bench.apply``: makespan and 429 share of N creates, several clients, one engine.

The simulator runs with the given rate and burst and injected latency (``--jitter`` of it either
way, seeded), on this process's event loop or (``--simulator process``) in a process of its own,
so that this process's CPU is the engine's alone; each strategy gets a fresh simulator and a fresh
journal (a SQLite file, or ``--database``), and the same engine (``syncer.apply.engine.execute``)
carries out the same plan of N entity creates. Strategies: ``syncer`` (work in flight follows
rate x latency), ``syncer-fixed-16`` (the same client held at 16 in flight, as before issue #16),
a naive client that resends on 429, and ``no-wire`` (answers at once from memory, no HTTP, no
limiter: what the engine and its journal cost alone; not run unless asked). The ideal makespan
is ``(N - burst) / rate + latency``: the burst goes at once, everything after it at the replenish
rate, plus the last answer's latency. With an open bucket (``--rate 20000 --burst 20000``) the
ideal is ~0 and ``creates/s`` is the engine's own ceiling. CPU per create is this process's,
split into its event loop's thread and the rest (aiosqlite's database thread), and the simulator
process's apart.

The issue's ideal assumes a continuous refill and counts no round trip but the last; it is not a
lower bound. ``bound`` is one (``bench.schedule``): the least makespan any sender can reach
against the simulator's real schedule, which refills at whole seconds of its clock and never past
the burst, from where in the server's second the run starts, with a fresh (full) bucket. It
assumes that the token request (limited like any other) and then the first create go alone, each
answered before the next request leaves (a create needs the token; the first create's answer
tells its family's cost: issue #14), taking the latencies the simulator's seeded faults give a
run's first two requests, and that every other create takes the least latency the jitter allows,
all of it on the way to the bucket; N creates and the token request pass it, and nothing else
counts: no retry, no time in the engine, its journal or the server. (``no-wire`` meets no bucket:
its bound is not one.) Figures are printed as a markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import anyio
from pydantic import SecretStr

from bench.apply.naive import NaiveClient
from bench.apply.nowire import NoWireClient
from bench.procs import cpu_seconds
from bench.schedule import Schedule, trips
from bench.simprocess import ServedFirm, simulator_process
from syncer import logs
from syncer.apply.api import CloudApi
from syncer.apply.engine import execute
from syncer.clock import SystemClock
from syncer.cloud.client import CloudClient
from syncer.plan.changes import Action, Change, FieldChange, Plan
from syncer.progress import progress_for
from syncer.settings import CloudSettings, DatabaseSettings, Settings
from syncer.simulator import Limits, SimulatorConfig, serve_simulator
from syncer.simulator.config import Faults
from syncer.store.db import create_engine
from syncer.store.schema import upgrade


@dataclass
class Server:
    """What the clients talk to, and what it counted (``totals``, filled when it stops)."""

    firm: ServedFirm
    pid: int | None = None
    """The simulator's own process, when it runs in one (its CPU is then measured apart)."""
    totals: dict[str, int] = field(default_factory=dict)
    """``allowed``, ``denied`` and ``duplicates``."""


ClientFactory = Callable[[Settings, Server], AbstractAsyncContextManager[CloudApi]]


@asynccontextmanager
async def syncer_client(settings: Settings, _server: Server) -> AsyncIterator[CloudApi]:
    async with CloudClient.open(settings.cloud) as client:
        yield client


class FixedInFlight(CloudClient):
    """syncer's client as it was before issue #16: 16 changes in flight whatever the latency."""

    def write_target(self) -> int:
        return 16


@asynccontextmanager
async def fixed_client(settings: Settings, _server: Server) -> AsyncIterator[CloudApi]:
    async with FixedInFlight.open(settings.cloud) as client:
        yield client


@asynccontextmanager
async def naive_client(settings: Settings, server: Server) -> AsyncIterator[CloudApi]:
    limit = aiohttp.TCPConnector(limit=settings.cloud.max_in_flight)
    firm = server.firm
    async with aiohttp.ClientSession(connector=limit) as session:
        yield await NaiveClient.connect(
            session, firm.api_root, firm.client_id, firm.client_secret, settings.cloud.max_in_flight
        )


@asynccontextmanager
async def no_wire_client(settings: Settings, server: Server) -> AsyncIterator[CloudApi]:
    client = NoWireClient(settings.cloud.max_in_flight)
    yield client
    server.totals.update(
        allowed=client.stats.requests,
        denied=0,
        duplicates=sum(count - 1 for count in client.created.values()),
    )


STRATEGIES: dict[str, ClientFactory] = {
    "syncer": syncer_client,
    "syncer-fixed-16": fixed_client,
    "naive-retry-on-429": naive_client,
    "no-wire": no_wire_client,
}
DEFAULT_STRATEGIES = ("syncer", "syncer-fixed-16", "naive-retry-on-429")


@asynccontextmanager
async def in_process(args: argparse.Namespace) -> AsyncIterator[Server]:
    """The simulator on this process's event loop (its CPU counts as the engine's)."""
    limits = Limits(replenish_rate=args.rate, burst_capacity=args.burst)
    async with serve_simulator(SimulatorConfig(limits=limits, faults=faults_of(args))) as sim:
        firm = ServedFirm(sim.firm, sim.base_url, sim.client_id, sim.client_secret)
        server = Server(firm)
        yield server
        stats = sim.control.snapshot_stats()
    per_key = stats["creates"].get("entities", {})
    server.totals.update(
        allowed=stats["allowed"],
        denied=stats["denied"],
        duplicates=sum(count - 1 for count in per_key.values() if count > 1),
    )


def faults_of(args: argparse.Namespace) -> Faults:
    """The simulator's latency, as ``bench.simprocess`` injects it too."""
    return Faults(seed=1, latency_seconds=args.latency, jitter_seconds=args.latency * args.jitter)


@asynccontextmanager
async def in_a_process(args: argparse.Namespace) -> AsyncIterator[Server]:
    """The simulator in a process of its own: this process's CPU is the engine's alone."""
    async with simulator_process(
        1, args.rate, burst=args.burst, latency=args.latency, jitter=args.jitter
    ) as sims:
        server = Server(sims.firms[0], sims.pid)
        yield server
    server.totals.update(sims.totals)


@asynccontextmanager
async def nowhere(_args: argparse.Namespace) -> AsyncIterator[Server]:
    """No server: the no-wire client answers itself and fills the totals."""
    yield Server(ServedFirm("bench", "http://127.0.0.1:9", "none", "none"))


SERVERS: dict[str, Callable[[argparse.Namespace], AbstractAsyncContextManager[Server]]] = {
    "in-process": in_process,
    "process": in_a_process,
}


def creates(firm: str, n: int) -> Plan:
    changes = tuple(
        Change(
            "entities",
            Action.CREATE,
            f"B-{i:06d}",
            fields={
                "EntityNo": FieldChange(None, f"B-{i:06d}"),
                "Name": FieldChange(None, f"Bench client {i}"),
                "OwnerType": FieldChange(None, "Client"),
            },
        )
        for i in range(n)
    )
    return Plan(firm=firm, created_at=datetime.now(UTC), fingerprint="bench", changes=changes)


@dataclass(frozen=True)
class Row:
    strategy: str
    n: int
    makespan: float
    cpu: float
    """This process's CPU seconds for the run (the simulator's included when in-process)."""
    loop_cpu: float
    """Of ``cpu``, the event loop's thread: the engine, the client and the limiter, and the
    simulator when in-process; the rest is other threads' (aiosqlite's database thread)."""
    simulator_cpu: float | None
    """The simulator process's CPU seconds for the run, when it ran in a process of its own."""
    ideal: float
    bound: float
    attempts: int
    denied: int
    duplicates: int
    exit_code: int

    def ratio(self, least: float) -> float:
        """Makespan over ``least``, the ideal or the bound."""
        return self.makespan / least if least > 0 else float("nan")

    @property
    def denied_share(self) -> float:
        return self.denied / self.attempts if self.attempts else 0.0


async def measure(name: str, factory: ClientFactory, args: argparse.Namespace) -> Row:
    where = nowhere if name == "no-wire" else SERVERS[args.simulator]
    async with where(args) as server:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            await upgrade(url)
            settings = Settings(
                database=DatabaseSettings(url=url),
                cloud=CloudSettings(
                    firm=server.firm.name,
                    base_url=server.firm.base_url,
                    client_id=server.firm.client_id,
                    client_secret=SecretStr(server.firm.client_secret),
                    max_in_flight=args.workers,
                ),
            )
            engine = create_engine(url)
            try:
                async with factory(settings, server) as client:
                    sim_started = cpu_seconds(server.pid) if server.pid else 0.0
                    started_at = time.time()  # the simulator's clock: where in its second
                    started = time.monotonic()
                    cpu_started = time.process_time()
                    loop_started = time.thread_time()
                    result = await execute(
                        creates(server.firm.name, args.n),
                        engine=engine,
                        client=client,
                        settings=settings,
                        clock=SystemClock(),
                        allow_deletes=False,
                        progress=progress_for,
                    )
                    makespan = time.monotonic() - started
                    cpu = time.process_time() - cpu_started
                    loop_cpu = time.thread_time() - loop_started
                    sim_cpu = cpu_seconds(server.pid) - sim_started if server.pid else None
            finally:
                await engine.dispose()
    totals = server.totals
    alone, least = trips(faults_of(args), before=0, alone=2)
    schedule = Schedule.steady(args.rate, capacity=args.burst)
    bound = schedule.bound(args.n + 1, started_at, alone=alone, latency=least)
    return Row(
        strategy=name,
        n=args.n,
        makespan=makespan,
        cpu=cpu,
        loop_cpu=loop_cpu,
        simulator_cpu=sim_cpu,
        ideal=max(args.n - args.burst, 0) / args.rate + args.latency,
        bound=bound,
        attempts=totals["allowed"] + totals["denied"],
        denied=totals["denied"],
        duplicates=totals["duplicates"],
        exit_code=result.exit_code,
    )


def table(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"# bench/apply: {args.n} creates, rate {args.rate}/s, burst {args.burst}, "
        f"{args.workers} in flight at most, latency {args.latency * 1000:.0f} ms "
        f"(+-{args.jitter:.0%}), {'PostgreSQL' if args.database else 'SQLite'}, "
        f"simulator {args.simulator}",
        "",
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| strategy | makespan s | ideal s | makespan / ideal | bound s | makespan / bound "
        "| creates/s | CPU ms / create | of which loop thread | simulator CPU ms / create "
        "| attempts | 429s | 429 share | duplicates | exit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.strategy} | {r.makespan:.1f} | {r.ideal:.1f} | {r.ratio(r.ideal):.3f} "
        f"| {r.bound:.2f} | {r.ratio(r.bound):.3f} "
        f"| {r.n / r.makespan:.0f} | {r.cpu / r.n * 1000:.2f} | {r.loop_cpu / r.n * 1000:.2f} "
        f"| {_per_create(r.simulator_cpu, r.n)} | {r.attempts} "
        f"| {r.denied} | {r.denied_share:.2%} | {r.duplicates} | {r.exit_code} |"
        for r in rows
    ]
    return "\n".join(lines)


def _per_create(seconds: float | None, n: int) -> str:
    return "-" if seconds is None else f"{seconds / n * 1000:.2f}"


async def main(args: argparse.Namespace) -> None:
    logs.configure("warning", "json")
    rows = [await measure(name, STRATEGIES[name], args) for name in args.strategies]
    report = table(rows, args)
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.apply", description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="creates (default 5000)")
    parser.add_argument("--rate", type=int, default=50, help="replenish rate per second")
    parser.add_argument("--burst", type=int, default=100, help="burst capacity")
    parser.add_argument("--workers", type=int, default=256, help="requests in flight at most")
    parser.add_argument("--latency", type=float, default=0.0, help="injected latency, seconds")
    parser.add_argument("--jitter", type=float, default=0.3, help="share of the latency, +-")
    parser.add_argument(
        "--database", default=None, help="journal database URL (default: a fresh SQLite file)"
    )
    parser.add_argument(
        "--strategies", nargs="+", choices=list(STRATEGIES), default=list(DEFAULT_STRATEGIES)
    )
    parser.add_argument(
        "--simulator",
        choices=list(SERVERS),
        default="in-process",
        help="where the simulator runs: on this event loop (its CPU counted with the engine's, "
        "the figures before issue #16's second pass), or in a process of its own",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    anyio.run(main, parse(), backend="asyncio")
