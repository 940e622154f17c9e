"""A faithful simulator of the Caseware Cloud API v2 (docs/cloud-api.md), with a control plane.

Public API::

    from syncer.simulator import SimulatorConfig, Limits, Faults, serve_simulator

    async with serve_simulator(SimulatorConfig(limits=Limits(replenish_rate=5))) as running:
        running.api_root            # http://127.0.0.1:PORT/demo/ms/caseware-cloud/api/v2/
        running.control.set_limits(burst_capacity=1)
        running.control.snapshot_stats()
"""

from syncer.simulator.api import SIMULATOR
from syncer.simulator.app import build_app
from syncer.simulator.config import (
    ClientSpec,
    Faults,
    Keying,
    Limits,
    NeighbourPattern,
    NoisyNeighbour,
    SimulatorConfig,
)
from syncer.simulator.core import Simulator
from syncer.simulator.server import RunningSimulator, serve_simulator

__all__ = [
    "SIMULATOR",
    "ClientSpec",
    "Faults",
    "Keying",
    "Limits",
    "NeighbourPattern",
    "NoisyNeighbour",
    "RunningSimulator",
    "Simulator",
    "SimulatorConfig",
    "build_app",
    "serve_simulator",
]
