"""``python -m bench.scale``: many firms over 1, 2 and 4 ``syncer worker`` processes.

Each configuration gets a fresh PostgreSQL database (beside ``SYNCER_TEST_DATABASE_URL``), a fresh
process serving one simulator per firm (each its own bucket at ``--rate``/s), and the same desired
state: ``--creates`` clients for every firm. The workers are real ``syncer worker`` processes with
enough concurrency that every firm is in flight at once; ``syncer queue apply`` queues all firms.
Measured: the makespan from the first job's start to the last job's end (``queue_outcomes``),
requests sent (``syncer_runs``), aggregate requests per second over the sum of the firms' rates,
peak memory above idle per firm in flight, CPU per request (``/proc``), the database's commits per
request (``pg_stat_database``: how well the journal's writes group across the firms of a worker),
the requests each firm's reading took (Cloud state and the recovery's lookups) and the pages read
past the end of a list.
With ``--phases K`` it also runs K + 1 firms' jobs one at a time in its own process and tables
the CPU of each phase of a job (``bench.scale.phases``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import psycopg
import sqlalchemy as sa
from anyio.abc import Process
from sqlalchemy.engine import make_url

from bench.procs import cpu_seconds, memory_kib
from bench.scale.phases import JobPhases, PhaseClock, phase_table, phases_timed
from bench.simprocess import ServedFirm, simulator_process
from syncer import cloud, logs
from syncer.apply import StopRequests
from syncer.queue.runner import run_firm
from syncer.settings import load_settings
from syncer.store import SharedEngines
from syncer.store.db import create_engine
from syncer.store.schema import upgrade
from syncer.store.tables import desired_tables


@dataclass(frozen=True)
class Row:
    workers: int
    firms: int
    concurrency: int
    makespan: float
    requests: int
    denied: int
    duplicates: int
    failed_jobs: int
    rate_sum: float
    mem_per_firm_mib: float
    cpu_ms_per_request: float
    peak_connections: int
    commits_per_request: float
    read_requests_per_firm: float
    pages_past_end: int

    @property
    def aggregate(self) -> float:
        return self.requests / self.makespan

    @property
    def ratio(self) -> float:
        return self.aggregate / self.rate_sum

    @property
    def in_flight_ratio(self) -> float:
        """Over the sum of the rates of the firms that can be in flight at once."""
        in_flight = min(self.firms, self.workers * self.concurrency)
        return self.aggregate / (self.rate_sum * in_flight / self.firms)


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = f"syncer_bench_{secrets.token_hex(4)}"
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(folder: Path, url: str, firms: list[ServedFirm]) -> tuple[Path, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env["SYNCER_LOGGING__LEVEL"] = "warning"
    env["SYNCER_LOGGING__FORMAT"] = "json"
    parts = [f'[database]\nurl = "{url}"\n']
    for firm in firms:
        variable = f"{firm.name.upper()}_SECRET"
        env[variable] = firm.client_secret
        parts.append(
            f'[[firms]]\nname = "{firm.name}"\n[firms.cloud]\nbase_url = "{firm.base_url}"\n'
            f'client_id = "{firm.client_id}"\nclient_secret_env = "{variable}"\n'
        )
    config = folder / "scale.toml"
    config.write_text("\n".join(parts), encoding="utf-8")
    return config, env


async def fill_desired(url: str, creates: int) -> None:
    rows = [
        {"entity_no": f"S-{n:05d}", "name": f"Scale client {n}", "active": True}
        for n in range(creates)
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(desired_tables["entities"]), rows)
    finally:
        await engine.dispose()


async def one_row(url: str, query: str) -> tuple[Any, ...]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(sa.text(query))).one())
    finally:
        await engine.dispose()


async def wait_for_count(url: str, query: str, want: int, seconds: float) -> None:
    """Poll ``query`` (a count another process raises) until it reaches ``want``."""
    with anyio.fail_after(seconds):
        for _ in iter(int, 1):
            if (await one_row(url, query))[0] >= want:
                return
            await anyio.sleep(0.2)


@dataclass(frozen=True)
class Cost:
    """Of all workers: memory grown from idle to peak (KiB), CPU seconds while working, the
    most connections the database had at once (the workers', a sample every 0.1 s) and the
    transactions committed meanwhile (the workers' and ``syncer queue``'s, whatever wrote them:
    journal groups, run rows, locks, procrastinate's own bookkeeping)."""

    grown_kib: int
    cpu_seconds: float
    peak_connections: int
    commits: int


CONNECTIONS = "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()"
COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
"""Read in a transaction rolled back (``one_row``), so reading it adds no commit. A backend's
counts reach it when its transaction ends or, at the latest, when it exits (the workers have)."""


@asynccontextmanager
async def connection_peak(url: str) -> AsyncIterator[list[int]]:
    """Sample the database's connections (less this one) until the block ends; the list
    yielded holds the most seen and the samples taken (each a transaction committed)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    peak = [0, 0]
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:

        async def sample() -> None:
            while True:
                row = await (await conn.execute(CONNECTIONS)).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                peak[1] += 1
                await anyio.sleep(0.1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sample)
            yield peak
            tg.cancel_scope.cancel()


REGISTERED = "SELECT count(*) FROM syncer_queue.procrastinate_workers"
FINISHED = "SELECT count(*) FROM syncer_queue.queue_outcomes WHERE exit_code IS NOT NULL"


async def run_workers(
    syncer: list[str],
    env: dict[str, str],
    url: str,
    *,
    workers: int,
    concurrency: int,
    args: argparse.Namespace,
) -> Cost:
    """Start the workers, queue every firm, wait for all jobs, stop the workers."""
    command = [*syncer, "worker", "--concurrency", str(concurrency)]
    procs = [await anyio.open_process(command, env=env) for _ in range(workers)]
    spies: list[Process | None] = []
    try:
        await wait_for_count(url, REGISTERED, workers, 60)
        spies = [await spy(p.pid, args.profile, workers, n) for n, p in enumerate(procs)]
        await anyio.sleep(1)
        idle = {p.pid: (memory_kib(p.pid, "VmRSS"), cpu_seconds(p.pid)) for p in procs}
        (commits_before,) = await one_row(url, COMMITS)
        async with connection_peak(url) as connections:
            await anyio.run_process([*syncer, "queue", "apply"], env=env)
            await wait_for_count(url, FINISHED, args.firms, args.timeout)
        peak = {p.pid: memory_kib(p.pid, "VmHWM") for p in procs}
        cpu = sum(cpu_seconds(p.pid) - idle[p.pid][1] for p in procs)
    finally:
        for process in procs:
            process.terminate()
            await process.wait()
        for spied in spies:
            if spied is not None:
                await spied.wait()
    (commits_after,) = await one_row(url, COMMITS)
    commits = int(commits_after) - int(commits_before) - connections[1]
    return Cost(sum(peak[pid] - idle[pid][0] for pid in peak), cpu, connections[0], commits)


async def spy(pid: int, folder: Path | None, workers: int, n: int) -> Process | None:
    """With ``--profile``: py-spy samples worker ``pid`` until it exits, writing its stacks
    (collapsed, one line per stack with its count of samples) in the folder."""
    if folder is None:
        return None
    out = folder / f"worker-{workers}-{n}.txt"
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "-r", "200"]
    return await anyio.open_process([*command, "--nonblocking", "-o", str(out)])


async def measure(workers: int, args: argparse.Namespace) -> Row:
    concurrency = math.ceil(min(args.firms, args.in_flight or args.firms) / workers)
    async with (
        fresh_database(args.admin_url) as url,
        simulator_process(args.firms, args.rate) as sims,
    ):
        await upgrade(url)
        await fill_desired(url, args.creates)
        with tempfile.TemporaryDirectory() as folder:
            config, env = write_config(Path(folder), url, sims.firms)
            syncer = [sys.executable, "-m", "syncer", "--config", str(config)]
            cost = await run_workers(
                syncer, env, url, workers=workers, concurrency=concurrency, args=args
            )
        makespan, failed = await one_row(
            url,
            "SELECT extract(epoch FROM max(finished_at) - min(started_at)), "
            "count(*) FILTER (WHERE exit_code <> 0) FROM syncer_queue.queue_outcomes",
        )
        requests, read_requests, past_end = await one_row(
            url,
            "SELECT sum(requests), avg(plan_requests), coalesce(sum(pages_past_end), 0) "
            "FROM syncer_runs",
        )
    return Row(
        workers=workers,
        firms=args.firms,
        concurrency=concurrency,
        makespan=float(makespan),
        requests=int(requests),
        denied=sims.totals.get("denied", -1),
        duplicates=sims.totals.get("duplicates", -1),
        failed_jobs=int(failed),
        rate_sum=args.firms * args.rate,
        mem_per_firm_mib=cost.grown_kib / 1024 / min(args.firms, workers * concurrency),
        cpu_ms_per_request=1000 * cost.cpu_seconds / max(int(requests), 1),
        peak_connections=cost.peak_connections,
        commits_per_request=cost.commits / max(int(requests), 1),
        read_requests_per_firm=float(read_requests),
        pages_past_end=int(past_end),
    )


async def measure_phases(args: argparse.Namespace) -> list[JobPhases]:
    """``--phases`` + 1 firms' apply jobs, one at a time in this process, each phase timed, on
    what a worker shares between its jobs: engines, and HTTP sessions where the revision
    measured has them (``syncer.cloud.SharedHttp``; so the bench also runs on older ones)."""
    async with (
        fresh_database(args.admin_url) as url,
        simulator_process(args.phases + 1, args.rate) as sims,
    ):
        await upgrade(url)
        await fill_desired(url, args.creates)
        with tempfile.TemporaryDirectory() as folder:
            config, env = write_config(Path(folder), url, sims.firms)
            os.environ.update({k: v for k, v in env.items() if k.endswith("_SECRET")})
            firms = load_settings(config).select_firms()
        logs.configure("warning")  # as the workers' (``write_config``)
        shared = SharedEngines(10)
        http_class = getattr(cloud, "SharedHttp", None)
        http = [] if http_class is None else [http_class()]
        jobs = []
        try:
            for firm in firms:
                clock = PhaseClock()
                with phases_timed(clock):
                    started = time.process_time()
                    result = await run_firm(firm, "apply", StopRequests(), shared, *http)
                    total = time.process_time() - started
                if result.exit_code != 0:
                    raise RuntimeError(f"{firm.name}: exit {result.exit_code}: {result.message}")
                jobs.append(JobPhases(dict(clock.spent), total))
        finally:
            for sessions in http:
                await sessions.close()
            await shared.dispose()
    return jobs


def table(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"# bench/scale: {args.firms} firms, each its own bucket at {args.rate:g}/s, "
        f"{args.creates} creates per firm",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| workers | firms in flight per worker | makespan s | requests | aggregate req/s "
        "| sum of rates | aggregate / sum | aggregate / sum in flight | 429s | duplicates "
        "| failed jobs | peak MiB per firm in flight | CPU ms per request | peak PG connections "
        "| commits per request | read requests per firm | pages past the end |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.workers} | {r.concurrency} | {r.makespan:.1f} | {r.requests} | {r.aggregate:.0f} "
        f"| {r.rate_sum:.0f} | {r.ratio:.2f} | {r.in_flight_ratio:.2f} | {r.denied} "
        f"| {r.duplicates} | {r.failed_jobs} "
        f"| {r.mem_per_firm_mib:.1f} | {r.cpu_ms_per_request:.2f} | {r.peak_connections} "
        f"| {r.commits_per_request:.2f} | {r.read_requests_per_firm:.1f} | {r.pages_past_end} |"
        for r in rows
    ]
    carried = rows[0].aggregate / args.rate / rows[0].workers
    lines += ["", f"One worker carried about {carried:.0f} firms at their full rate."]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    report = ""
    if args.workers:
        report = await worker_rows(args)
    if args.phases:
        phases = phase_table(await measure_phases(args))
        report += (
            f"\n\nCPU per phase of one job, {args.creates} creates, one job at a time "
            f"(`--phases {args.phases}`):\n\n{phases}"
        )
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n", encoding="utf-8")


async def worker_rows(args: argparse.Namespace) -> str:
    """The table of ``--workers`` configurations."""
    rows = []
    for workers in args.workers:
        started = time.monotonic()
        try:
            rows.append(await measure(workers, args))
        except Exception as exc:  # one configuration failing (e.g. too many clients) is a result
            print(f"{workers} worker(s) failed: {exc!r}"[:500], file=sys.stderr)
            continue
        took = time.monotonic() - started
        row = table(rows[-1:], args).splitlines()[-3]
        print(f"{workers} worker(s): {took:.0f} s: {row}", file=sys.stderr)
    if not rows:
        raise SystemExit("no configuration finished")
    return table(rows, args)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--firms", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="each firm's rate per second")
    parser.add_argument("--creates", type=int, default=60, help="clients created per firm")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=None,
        help="firms in flight at most over all workers (default: every firm); before workers "
        "shared their engines each held two PostgreSQL connections, so the old runs used 20",
    )
    parser.add_argument(
        "--workers", type=int, nargs="*", default=[1, 2, 4], help="none: only --phases"
    )
    parser.add_argument(
        "--phases",
        type=int,
        default=0,
        metavar="K",
        help="also time each phase of K + 1 jobs run one at a time in this process",
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds per configuration")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("SYNCER_TEST_DATABASE_URL", ""),
        help="a PostgreSQL URL; databases are created and dropped beside it",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="sample each worker with py-spy (not a dependency: pip install py-spy), writing "
        "worker-<workers>-<n>.txt (collapsed stacks) in this folder",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    anyio.run(main, parse(), backend="asyncio")
