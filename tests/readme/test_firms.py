""" "Several firms in one file": per-firm reports, per-firm metrics and the worst-code rule.

The ordering is checked twice: every pair of the README's list against ``combine`` (the README's
sentence is read from the README itself, so the two cannot drift apart), and once end to end, two
firms of one ``[[firms]]`` file ending differently in one real ``syncer apply``.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.apply.lock import RunLock
from syncer.errors import ExitCode
from syncer.firms import combine
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.schema import upgrade
from tests.apply.support import entity, fill, objects
from tests.fixtures.simulator import SimulatorFactory
from tests.readme.command import Syncer, write_secret

README = Path(__file__).parents[2] / "README.md"


def readme_order() -> list[int]:
    """The exit codes of the README's "in this order (worst first)" sentence."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(r"in this order \(worst first\): (.*?) \(anything else", text)
    assert found, "the README no longer states the order"
    return [int(code) for code in re.findall(r"`(\d+)`", found.group(1))]


def test_the_readme_orders_every_exit_code() -> None:
    listed = readme_order()
    assert len(listed) == len(set(listed))
    assert set(listed) == {int(code) for code in ExitCode}, "the README's order misses a code"


@pytest.mark.parametrize(
    ("worse", "better"), list(itertools.combinations(readme_order(), 2)), ids=str
)
def test_the_worse_code_of_each_pair_wins_whatever_the_order(worse: int, better: int) -> None:
    assert combine([worse, better]) == worse
    assert combine([better, worse, better]) == worse


@pytest.mark.parametrize("other", [5, 99, 137])
def test_a_code_outside_the_list_counts_as_worst(other: int) -> None:
    assert combine([*readme_order(), other]) == other


def firms_toml(acme: RunningSimulator, beta: RunningSimulator, folder: Path) -> str:
    """The README's example shape: acme's secret from the environment, beta's from a file, and
    beta with a database of its own."""
    beta_secret = write_secret(folder, beta.client_secret, "beta-secret")
    return f"""
[database]
url = "sqlite+aiosqlite:///{folder / "syncer.db"}"

[[firms]]
name = "acme"
[firms.cloud]
firm = "{acme.firm}"
base_url = "{acme.base_url}"
client_id = "{acme.client_id}"
client_secret_env = "ACME_SECRET"

[[firms]]
name = "beta"
[firms.cloud]
firm = "{beta.firm}"
base_url = "{beta.base_url}"
client_id = "{beta.client_id}"
client_secret_file = {json.dumps(str(beta_secret))}
[firms.database]
url = "sqlite+aiosqlite:///{folder / "beta.db"}"
"""


def reports(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("plan*.html"))


def exit_codes(metrics: Path) -> dict[str, float]:
    return {
        sample.labels["firm"]: sample.value
        for family in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))
        for sample in family.samples
        if sample.name == "syncer_last_run_exit_code"
    }


@pytest.mark.anyio
@pytest.mark.slow
async def test_two_firms_one_report_each_and_the_worst_exit_code(
    simulator_factory: SimulatorFactory, tmp_path: Path
) -> None:
    acme_sim = await simulator_factory(firm="acme")
    beta_sim = await simulator_factory(firm="beta-llp")
    config = tmp_path / "firms.toml"
    config.write_text(firms_toml(acme_sim, beta_sim, tmp_path), encoding="utf-8")
    acme_url, beta_url = (f"sqlite+aiosqlite:///{tmp_path / n}" for n in ("syncer.db", "beta.db"))
    for url, rows in ((acme_url, [entity(1), entity(2, name=None)]), (beta_url, [entity(7)])):
        await upgrade(url)
        await fill(url, {"entities": rows})
    secrets = [acme_sim.client_secret, beta_sim.client_secret]
    syncer = Syncer(config, secrets, {"ACME_SECRET": acme_sim.client_secret})

    planned = await syncer("plan", "--format", "html", "--out", "plan.html")
    assert planned.code == ExitCode.OK, planned.stderr
    assert reports(tmp_path) == ["plan.acme.html", "plan.beta.html"]
    assert "C-0001" in (tmp_path / "plan.acme.html").read_text(encoding="utf-8")
    assert "C-0001" not in (tmp_path / "plan.beta.html").read_text(encoding="utf-8")

    # acme ends with a rejected row (3) while another run holds beta's lock (75): 75 is worse.
    engine = create_engine(beta_url)
    try:
        async with RunLock(engine, beta_sim.firm).hold():
            applied = await syncer("apply", "--metrics-file", "syncer.prom")
    finally:
        await engine.dispose()
    assert applied.code == ExitCode.LOCKED
    assert [o["EntityNo"] for o in objects(acme_sim, "entities")] == ["C-0001"]
    assert objects(beta_sim, "entities") == []
    assert exit_codes(tmp_path / "syncer.prom") == {"acme": 3, "beta-llp": 75}

    # An unset secret variable is a configuration error only for the firm that needs it.
    unset = Syncer(config, secrets)
    only_beta = await unset("plan", "--firm", "beta", "--detailed-exitcode")
    assert only_beta.code == ExitCode.CHANGES_PENDING, only_beta.stderr
    both = await unset("plan")
    assert both.code == ExitCode.CONFIG
    assert "ACME_SECRET" in both.stderr
