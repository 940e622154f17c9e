"""``syncer plan``, ``syncer apply`` and ``syncer runs`` as processes: exit codes and output."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from syncer.apply.lock import RunLock
from syncer.errors import ExitCode
from syncer.history import recent_runs
from syncer.plan.serialise import plan_from_json
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.usecases import ApplyOptions, apply_firm
from tests.apply.support import entity, env_for, fill, objects, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def url(migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url


async def syncer(sim: RunningSimulator, url: str, *args: str) -> tuple[int, str, str]:
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", *args], env=env_for(sim, url), check=False
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_plan_detailed_exitcode_says_whether_changes_are_pending(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    code, _, _ = await syncer(simulator, url, "plan", "--detailed-exitcode")
    assert code == ExitCode.OK

    await fill(url, {"entities": [entity(1), entity(2)]})
    out = tmp_path / "plan.json"
    code, _, stderr = await syncer(
        simulator, url, "plan", "--format", "json", "--out", str(out), "--detailed-exitcode"
    )
    assert code == ExitCode.CHANGES_PENDING, stderr
    plan = plan_from_json(out.read_bytes())
    assert [c.key for c in plan.changes] == ["C-0001", "C-0002"]
    assert objects(simulator, "entities") == [], "plan must not change anything"

    code, stdout, _ = await syncer(simulator, url, "plan")
    assert code == ExitCode.OK
    assert "C-0001" in stdout


async def test_apply_exits_75_while_another_run_holds_the_lock(
    simulator: RunningSimulator, url: str
) -> None:
    engine = create_engine(url)
    try:
        async with RunLock(engine, simulator.firm).hold():
            code, _, stderr = await syncer(simulator, url, "apply")
    finally:
        await engine.dispose()
    assert code == ExitCode.LOCKED
    assert "another syncer run is in progress" in stderr


async def test_apply_refuses_a_stale_plan_file_with_exit_1(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    await fill(url, {"entities": [entity(1)]})
    out = tmp_path / "plan.json"
    code, _, _ = await syncer(simulator, url, "plan", "--format", "json", "--out", str(out))
    assert code == ExitCode.OK
    simulator.control.seed("entities", {"EntityNo": "X-1", "Name": "Made elsewhere"})
    code, _, stderr = await syncer(simulator, url, "apply", "--plan", str(out))
    assert code == ExitCode.ERROR
    assert "stale" in stderr
    assert len(objects(simulator, "entities")) == 1


async def test_apply_then_runs_lists_the_run(simulator: RunningSimulator, url: str) -> None:
    await fill(url, {"entities": [entity(1)]})
    code, _, stderr = await syncer(simulator, url, "apply", "--max-in-flight", "2")
    assert code == ExitCode.OK, stderr
    assert '"event": "apply finished"' in stderr or '"event":"apply finished"' in stderr
    result = await apply_firm(settings_for(simulator, url), ApplyOptions())
    assert result.exit_code == ExitCode.OK
    code, stdout, _ = await syncer(simulator, url, "runs", "--last", "5")
    assert code == ExitCode.OK
    assert stdout.count("succeeded") == 2
    assert "1 done" in stdout
    engine = create_engine(url)
    try:
        (latest,) = await recent_runs(engine, last=1)
    finally:
        await engine.dispose()
    assert latest.latency["entities"]["samples"] >= 1  # the create, answered
    assert "latency (p90)" in stdout
    assert latest.pages_past_end is not None
    assert latest.apply_requests == 0, "the second run had nothing to send"
    assert f"{latest.requests} ({latest.plan_requests} + 0)" in stdout
