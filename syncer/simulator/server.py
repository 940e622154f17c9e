"""Run a simulator on a loopback port, in-process: for tests, the demo, benchmarks and the CLI."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from syncer.simulator.app import build_app
from syncer.simulator.config import SimulatorConfig
from syncer.simulator.core import Simulator

API_PATH = "ms/caseware-cloud/api/v2/"


@dataclass(frozen=True)
class RunningSimulator:
    """A simulator serving on ``base_url``; ``control`` is its in-process control handle.

    ``client_id``/``client_secret`` are the first registered client's current credentials (after
    ``control.reset_secret`` the new secret).
    """

    base_url: str
    control: Simulator

    @property
    def firm(self) -> str:
        return self.control.firm

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/{self.firm}/{API_PATH}"

    @property
    def client_id(self) -> str:
        return self.control.clients[0].client_id

    @property
    def client_secret(self) -> str:
        return self.control.clients[0].client_secret

    def __repr__(self) -> str:
        return f"RunningSimulator(base_url={self.base_url!r}, firm={self.firm!r})"


@asynccontextmanager
async def serve_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """Serve a new simulator until the block exits; port 0 picks a free port."""
    simulator = Simulator(config)
    runner = web.AppRunner(build_app(simulator), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets: list[socket.socket] = list(getattr(server, "sockets", ()))
        bound_port = sockets[0].getsockname()[1]
        yield RunningSimulator(f"http://{host}:{bound_port}", simulator)
    finally:
        await runner.cleanup()
