"""Issue 13, ``[[firms]]``: a firm whose secret is rejected fails alone. The other firm finishes,
its report and metrics are written, the failed firm gets its series with its exit code, and the
process exits with the worst code. And, as the README says, each firm's report has its own name."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from syncer.store.schema import upgrade
from tests.apply.support import entity, fill
from tests.fixtures.simulator import SimulatorFactory
from tests.hostile.support import Outcome, base_env

pytestmark = pytest.mark.anyio


def firms_config(acme: RunningSimulator, beta: RunningSimulator, tmp_path: Path) -> str:
    def firm(name: str, sim: RunningSimulator) -> str:
        return f"""
[[firms]]
name = "{name}"
[firms.cloud]
firm = "{sim.firm}"
base_url = "{sim.base_url}"
client_id = "{sim.client_id}"
client_secret_env = "{name.upper()}_TEST_SECRET"
[firms.database]
url = "sqlite+aiosqlite:///{tmp_path / name}.db"
"""

    return firm("acme", acme) + firm("beta", beta)


@pytest.fixture
async def two_firms(
    simulator_factory: SimulatorFactory, tmp_path: Path
) -> tuple[RunningSimulator, RunningSimulator, Path, dict[str, str]]:
    acme = await simulator_factory(firm="acme")
    beta = await simulator_factory(firm="beta-llp")
    for name in ("acme", "beta"):
        url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        await upgrade(url)
        await fill(url, {"entities": [entity(1)]})
    config = tmp_path / "firms.toml"
    config.write_text(firms_config(acme, beta, tmp_path), encoding="utf-8")
    env = base_env(
        ACME_TEST_SECRET=acme.client_secret,
        BETA_TEST_SECRET="a-secret-that-was-reset",
        SYNCER_LOGGING__FORMAT="json",
    )
    return acme, beta, config, env


async def syncer(env: dict[str, str], *args: str) -> Outcome:
    result = await anyio.run_process([sys.executable, "-m", "syncer", *args], env=env, check=False)
    return Outcome(result.returncode, result.stdout.decode(), result.stderr.decode())


async def test_apply_one_firm_rejected_the_other_finishes_and_both_have_metrics(
    two_firms: tuple[RunningSimulator, RunningSimulator, Path, dict[str, str]], tmp_path: Path
) -> None:
    acme, beta, config, env = two_firms
    metrics = tmp_path / "syncer.prom"
    outcome = await syncer(env, "--config", str(config), "apply", "--metrics-file", str(metrics))
    assert outcome.code == ExitCode.CREDENTIALS_REJECTED, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert "a-secret-that-was-reset" not in outcome.stderr
    assert [o["EntityNo"] for o in acme.control.dump()["objects"]["entities"]] == ["C-0001"]
    assert beta.control.dump()["objects"]["entities"] == []
    exit_codes = {
        sample.labels["firm"]: sample.value
        for family in text_string_to_metric_families(metrics.read_text())
        for sample in family.samples
        if sample.name == "syncer_last_run_exit_code"
    }
    assert exit_codes == {"acme": 0, "beta-llp": ExitCode.CREDENTIALS_REJECTED}


async def test_plan_one_firm_rejected_the_others_report_is_written(
    two_firms: tuple[RunningSimulator, RunningSimulator, Path, dict[str, str]], tmp_path: Path
) -> None:
    _, _, config, env = two_firms
    out = tmp_path / "plan.json"
    outcome = await syncer(
        env, "--config", str(config), "plan", "--format", "json", "--out", str(out)
    )
    assert outcome.code == ExitCode.CREDENTIALS_REJECTED, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert "C-0001" in (tmp_path / "plan.acme.json").read_text()
    assert not (tmp_path / "plan.beta.json").exists()


async def test_plan_html_reports_are_named_per_firm(
    two_firms: tuple[RunningSimulator, RunningSimulator, Path, dict[str, str]], tmp_path: Path
) -> None:
    _, beta, config, env = two_firms
    env = env | {"BETA_TEST_SECRET": beta.client_secret}
    out = tmp_path / "report.html"
    outcome = await syncer(
        env, "--config", str(config), "plan", "--format", "html", "--out", str(out)
    )
    assert outcome.code == ExitCode.OK, outcome.stderr
    for firm in ("acme", "beta"):
        page = (tmp_path / f"report.{firm}.html").read_text()
        assert page.lstrip().lower().startswith("<!doctype html")
        assert "C-0001" in page
    assert not out.exists()
