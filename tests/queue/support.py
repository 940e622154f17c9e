"""A fleet for queue tests: firms on their own simulators, a ``[[firms]]`` file, and real
``syncer worker`` processes started against a PostgreSQL database."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa
from anyio.abc import Process
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.simulator import RunningSimulator

WORKER_TIMING = ("--heartbeat", "0.5", "--stalled-after", "5")
"""Short heartbeats so a killed worker is known dead within seconds, not a minute (yet ten
heartbeats of margin, so a worker starved of CPU on a loaded machine is not taken for dead)."""


@dataclass(frozen=True)
class Fleet:
    """Firms ``name -> simulator`` and the configuration file naming them."""

    sims: dict[str, RunningSimulator]
    config: Path

    def env(self) -> dict[str, str]:
        """The subprocess environment: no developer ``SYNCER_*``, each firm's secret."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
        env.update({_secret_var(name): sim.client_secret for name, sim in self.sims.items()})
        env["SYNCER_LOGGING__FORMAT"] = "json"
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "syncer", "--config", str(self.config), *args]


def _secret_var(firm: str) -> str:
    return f"{firm.upper()}_TEST_SECRET"


def write_config(
    path: Path, url: str, sims: dict[str, RunningSimulator], schedules: dict[str, str]
) -> Fleet:
    parts = [f'[database]\nurl = "{url}"\n']
    for name, sim in sims.items():
        schedule = f'schedule = "{schedules[name]}"\n' if name in schedules else ""
        parts.append(
            f'[[firms]]\nname = "{name}"\n{schedule}[firms.cloud]\nfirm = "{sim.firm}"\n'
            f'base_url = "{sim.base_url}"\nclient_id = "{sim.client_id}"\n'
            f'client_secret_env = "{_secret_var(name)}"\nmax_in_flight = 4\n'
        )
    path.write_text("\n".join(parts), encoding="utf-8")
    return Fleet(sims, path)


@asynccontextmanager
async def workers(fleet: Fleet, count: int, logs: Path, *args: str) -> AsyncIterator[list[Process]]:
    """``count`` worker processes, yielded once each has said "worker started" (its signal
    handlers are in: a SIGTERM during its imports would kill it, exit -15); on the way out each
    still running gets SIGTERM and must exit 0 within 30 s (a killed one is left as it is)."""
    async with AsyncExitStack() as stack:
        started: list[Process] = []
        paths = [logs / f"worker{n}.log" for n in range(count)]
        for path in paths:
            log = stack.enter_context(path.open("wb"))
            command = fleet.command("worker", *WORKER_TIMING, *args)
            process = await anyio.open_process(command, env=fleet.env(), stderr=log, stdout=log)
            stack.push_async_callback(_stop, process)
            started.append(process)

        async def all_started() -> bool:
            return all(b"worker started" in path.read_bytes() for path in paths)

        await wait_for(all_started)
        yield started


async def _stop(process: Process) -> None:
    if process.returncode is None:
        process.terminate()
        with anyio.fail_after(30):
            code = await process.wait()
        assert code == 0, f"worker exited {code} after SIGTERM"
    await process.aclose()


async def wait_for(condition: Callable[[], Any]) -> None:
    """Poll an async ``condition`` (another process makes it true) until it holds; gives up
    after 120 s so a broken test fails instead of hanging."""
    with anyio.fail_after(120):
        for _ in iter(int, 1):
            if await condition():
                return
            await anyio.sleep(0.05)


async def job_states(engine: AsyncEngine) -> list[Any]:
    """Every firm job: id, firm, status, and the worker of its last start."""
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text(
                "SELECT j.id, j.args->>'firm' AS firm, j.status, o.worker, o.finished_at "
                "FROM syncer_queue.procrastinate_jobs j "
                "LEFT JOIN syncer_queue.queue_outcomes o ON o.job_id = j.id ORDER BY j.id"
            )
        )
        return list(result.all())


def worker_of(process: Process, rows: Sequence[Any]) -> list[Any]:
    """The running jobs of ``process`` (its pid ends the worker label)."""
    return [
        row
        for row in rows
        if row.status == "doing" and row.worker and row.worker.endswith(f":{process.pid}")
    ]
