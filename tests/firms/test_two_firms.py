"""Two firms from one ``[[firms]]`` file, applied by one ``syncer apply`` at once, each against
its own simulator with its own API client, database and rate limiter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from syncer.demo.data import Size, generate
from syncer.demo.store import replace_desired
from syncer.settings import load_settings
from syncer.simulator import Limits, RunningSimulator
from syncer.store.db import create_engine
from syncer.store.schema import upgrade
from syncer.store.tables import runs
from tests.fixtures.simulator import SimulatorFactory

SMALL_LIMITS = Limits(replenish_rate=40, burst_capacity=20)
"""Tight enough that each firm's run lasts a while, so the two runs overlap."""


def config_text(acme: RunningSimulator, beta: RunningSimulator, tmp_path: Path) -> str:
    return f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / "shared.db"}"

[[firms]]
name = "acme"
[firms.cloud]
firm = "{acme.firm}"
base_url = "{acme.base_url}"
client_id = "{acme.client_id}"
client_secret_env = "ACME_TEST_SECRET"

[[firms]]
name = "beta"
[firms.cloud]
firm = "{beta.firm}"
base_url = "{beta.base_url}"
client_id = "{beta.client_id}"
client_secret_env = "BETA_TEST_SECRET"
[firms.database]
url = "sqlite+aiosqlite:///{tmp_path / "beta.db"}"
"""


def firm_rows(entities: int, offset: int) -> dict[str, tuple[dict[str, object], ...]]:
    """A slice of the demo firm: a few groups, clients and users, with their assignments."""
    data = generate(Size.SMALL, seed=offset)
    users = data.rows["users"][:6]
    emails = {user["email"] for user in users}
    return {
        "groups": tuple(dict(row) for row in data.rows["groups"]),
        "entities": tuple(dict(row) for row in data.rows["entities"][:entities]),
        "users": tuple(dict(row) for row in users),
        "group_members": tuple(
            dict(row) for row in data.rows["group_members"] if row["user_email"] in emails
        ),
        "user_roles": tuple(
            dict(row) for row in data.rows["user_roles"] if row["user_email"] in emails
        ),
    }


def subprocess_env(acme: RunningSimulator, beta: RunningSimulator) -> dict[str, str]:
    """The process environment minus any ``SYNCER_*`` of the developer's shell, plus the two
    variables the configuration names for the firms' secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        ACME_TEST_SECRET=acme.client_secret,
        BETA_TEST_SECRET=beta.client_secret,
        SYNCER_LOGGING__FORMAT="json",
    )
    return env


@pytest.mark.anyio
@pytest.mark.slow
async def test_one_apply_runs_two_firms_concurrently_each_into_its_own_cloud(
    simulator_factory: SimulatorFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme_sim = await simulator_factory(firm="acme", limits=SMALL_LIMITS)
    beta_sim = await simulator_factory(firm="beta-llp", limits=SMALL_LIMITS)
    monkeypatch.setenv("ACME_TEST_SECRET", acme_sim.client_secret)
    monkeypatch.setenv("BETA_TEST_SECRET", beta_sim.client_secret)
    config = tmp_path / "firms.toml"
    config.write_text(config_text(acme_sim, beta_sim, tmp_path), encoding="utf-8")
    firms = load_settings(config).select_firms()

    desired = {"acme": firm_rows(40, offset=1), "beta": firm_rows(25, offset=2)}
    for firm in firms:
        await upgrade(firm.settings.database.url)
        engine = create_engine(firm.settings.database.url)
        try:
            await replace_desired(engine, desired[firm.name])
        finally:
            await engine.dispose()

    # The real command, in its own process, while this test's event loop serves both simulators.
    metrics = tmp_path / "textfile" / "syncer.prom"
    command = [sys.executable, "-m", "syncer", "--config", str(config), "apply"]
    finished = await anyio.run_process(
        [*command, "--metrics-file", str(metrics)],
        env=subprocess_env(acme_sim, beta_sim),
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()

    # Each Cloud holds its own firm's clients, and only those.
    for firm, sim in (("acme", acme_sim), ("beta", beta_sim)):
        numbers = {o["EntityNo"] for o in sim.control.dump()["objects"]["entities"]}
        assert numbers == {row["entity_no"] for row in desired[firm]["entities"]}

    # The runs overlapped in time: they ran concurrently, not one after the other.
    windows = {}
    for firm in firms:
        engine = create_engine(firm.settings.database.url)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(runs).where(runs.c.firm == firm.settings.cloud.firm)
                    )
                ).one()
        finally:
            await engine.dispose()
        windows[firm.name] = (row.started_at, row.finished_at)
    assert windows["acme"][0] < windows["beta"][1]
    assert windows["beta"][0] < windows["acme"][1]

    # One metrics file for both firms.
    exit_codes = {
        sample.labels["firm"]: sample.value
        for family in text_string_to_metric_families(metrics.read_text())
        for sample in family.samples
        if sample.name == "syncer_last_run_exit_code"
    }
    assert exit_codes == {"acme": 0, "beta-llp": 0}
