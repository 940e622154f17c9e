"""The probe's advice for a firm that keys buckets per session, put to work with two sessions.

The probe finds ``session`` keying and writes it; with ``cloud.pool_size = 2`` added, ``plan``
and ``apply`` reach the desired state through two sessions, each drawing from its own bucket on
the server (``syncer.cloud.keying``), without a 429.
"""

from __future__ import annotations

import pytest

from syncer.errors import ExitCode
from syncer.probe import run_probe
from syncer.simulator import Keying, Limits
from syncer.usecases import ApplyOptions, apply_firm, plan_firm
from tests.apply.support import fill, settings_for, writes
from tests.fixtures.simulator import SimulatorFactory
from tests.probe.firm import DESIRED, assert_firm_matches_desired, seed_firm
from tests.probe.test_alternatives import fitted_settings

pytestmark = pytest.mark.anyio


async def test_session_advice_with_two_sessions_plans_and_applies(
    simulator_factory: SimulatorFactory, url: str
) -> None:
    sim = await simulator_factory(
        limits=Limits(replenish_rate=400, burst_capacity=400, keying=Keying.SESSION)
    )
    seed_firm(sim)
    report = await run_probe(settings_for(sim, url).cloud)
    assert report.settings() == {"api.ratelimit_keying": "session"}
    assert writes(sim) == 0

    fitted = fitted_settings(sim, url, report)
    settings = fitted.model_copy(update={"cloud": fitted.cloud.model_copy(update={"pool_size": 2})})
    await fill(url, DESIRED)
    planned = await plan_firm(settings)
    assert planned.plan.changes
    assert writes(sim) == 0

    before = set(sim.control.dump()["buckets"])
    applied = await apply_firm(settings, ApplyOptions())
    assert applied.exit_code == ExitCode.OK, applied.message
    assert_firm_matches_desired(sim)
    assert sim.control.snapshot_stats()["denied"] == 0
    sessions_used = {
        key for key in set(sim.control.dump()["buckets"]) - before if sim.client_id not in key
    }
    assert len(sessions_used) == 2, sessions_used

    again = await plan_firm(settings)
    assert again.plan.changes == ()
