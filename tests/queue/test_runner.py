"""The adapter a job runs a firm through: plan reports pending changes, apply carries them out,
and an error of the firm becomes its exit code and message (the worker never sees it raised)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from syncer.apply.stopping import StopRequests
from syncer.errors import ExitCode
from syncer.queue.app import FIRM_ACTIONS
from syncer.queue.runner import ACTIONS, run_firm
from syncer.settings import Firm
from tests.apply.support import creates, entity, fill, settings_for
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio


def test_the_queue_offers_what_the_runner_runs_without_importing_the_engine() -> None:
    """``syncer queue`` names the actions from ``FIRM_ACTIONS``: importing the runner (the apply
    engine, aiohttp) cost each ``syncer queue`` about a second on a loaded machine."""
    assert set(FIRM_ACTIONS) == set(ACTIONS)
    probe = "import sys, syncer.cli.queue; print(sorted(m for m in sys.modules if m in {"
    probe += "'syncer.apply', 'syncer.queue.runner', 'aiohttp'}))"
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert imported.stdout == "[]\n"


async def test_plan_then_apply_then_plan_again(
    simulator_factory: SimulatorFactory, migrated_sqlite_url: str
) -> None:
    sim = await simulator_factory()
    await fill(migrated_sqlite_url, {"entities": [entity(n) for n in range(1, 4)]})
    firm = Firm("acme", settings_for(sim, migrated_sqlite_url))

    planned = await run_firm(firm, "plan", StopRequests())
    assert (planned.exit_code, planned.run_id) == (ExitCode.CHANGES_PENDING, None)
    assert planned.message == "3 change(s) pending"

    applied = await run_firm(firm, "apply", StopRequests())
    assert applied.exit_code == ExitCode.OK
    assert applied.run_id is not None
    assert set(creates(sim, "entities").values()) == {1}

    again = await run_firm(firm, "plan", StopRequests())
    assert (again.exit_code, again.message) == (ExitCode.OK, "0 change(s) pending")


async def test_a_rejected_secret_is_an_exit_code_not_an_exception(
    simulator_factory: SimulatorFactory, migrated_sqlite_url: str
) -> None:
    sim = await simulator_factory()
    firm = Firm("acme", settings_for(sim, migrated_sqlite_url, secret="wrong"))
    result = await run_firm(firm, "apply", StopRequests())
    assert result.exit_code == ExitCode.CREDENTIALS_REJECTED
    assert result.message
    assert "wrong" not in result.message
