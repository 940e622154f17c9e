"""README promises checked through the real command: the cron guide's summary line, exit 4 from
``apply``, ``apply --plan`` of a fresh plan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from sqlalchemy import delete

from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import desired_tables
from tests.apply.support import entity, env_for, fill, objects

pytestmark = pytest.mark.anyio


@pytest.fixture
async def url(migrated_sqlite_url: str) -> str:
    await fill(migrated_sqlite_url, {"entities": [entity(n) for n in (1, 2, 3)]})
    return migrated_sqlite_url


async def syncer(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = await anyio.run_process([sys.executable, "-m", "syncer", *args], env=env, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def events(stderr: str, name: str) -> list[dict[str, Any]]:
    parsed = [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [event for event in parsed if event.get("event") == name]


async def test_apply_ends_with_the_summary_line_the_cron_guide_describes(
    simulator: RunningSimulator, url: str
) -> None:
    code, _, stderr = await syncer(env_for(simulator, url), "apply")
    assert code == ExitCode.OK, stderr
    (summary,) = events(stderr, "apply finished")
    assert isinstance(summary["run_id"], int)
    assert summary["exit_code"] == 0
    assert summary["status"] == "succeeded"
    assert summary["counts"], "counts per kind, action and result"
    assert "entities" in orjson.dumps(summary["counts"]).decode()
    assert summary["requests"] >= 4, "one token, the reads, three creates"
    assert summary["throttled"] == summary["unauthorized"] == 0
    assert summary["achieved_rate"] > 0
    assert "learned_rate" in summary


async def test_apply_exits_4_when_the_safety_threshold_blocks_retirements(
    simulator: RunningSimulator, url: str
) -> None:
    env = env_for(simulator, url)
    code, _, stderr = await syncer(env, "apply")
    assert code == ExitCode.OK, stderr
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            table = desired_tables["entities"]
            await conn.execute(delete(table).where(table.c.entity_no != "C-0001"))
    finally:
        await engine.dispose()
    env |= {
        "SYNCER_SYNC__MODES": '{"entities": "mirror"}',
        "SYNCER_SYNC__RETIRE_THRESHOLD_COUNT": "1",
        "SYNCER_SYNC__RETIRE_THRESHOLD_RATIO": "0",
    }
    code, _, stderr = await syncer(env, "apply")
    assert code == ExitCode.SAFETY_STOP, stderr
    assert "blocked by the safety threshold" in stderr
    assert [o["Type"] for o in objects(simulator, "entities")] == ["A", "A", "A"], (
        "no entity was deactivated"
    )


async def test_apply_carries_out_a_fresh_saved_plan(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    env = env_for(simulator, url)
    saved = tmp_path / "plan.json"
    code, _, stderr = await syncer(env, "plan", "--format", "json", "--out", str(saved))
    assert code == ExitCode.OK, stderr
    code, _, stderr = await syncer(env, "apply", "--plan", str(saved))
    assert code == ExitCode.OK, stderr
    numbers = sorted(o["EntityNo"] for o in objects(simulator, "entities"))
    assert numbers == ["C-0001", "C-0002", "C-0003"]
