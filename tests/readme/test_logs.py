""" "Running from cron": JSON log lines on a non-terminal stderr, and the ``apply finished`` line.

Nothing sets ``logging.format`` here: stderr is a pipe, as under cron, and ``auto`` must pick JSON
lines by itself. The summary line's figures are checked against the simulator's own counts, so a
figure that counted the wrong thing (token calls as requests, a retried 401 twice) would show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.errors import ExitCode
from syncer.simulator import Limits, RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import runs
from tests.apply.support import entity, fill
from tests.fixtures.simulator import SimulatorFactory
from tests.readme.command import Syncer, write_config

pytestmark = pytest.mark.anyio

SUMMARY_FIELDS = {
    "run_id",
    "counts",
    "requests",
    "plan_requests",
    "apply_requests",
    "throttled",
    "unauthorized",
    "achieved_rate",
    "learned_rate",
    "exit_code",
}
"""The README: "the run id, the counts per kind, action and result, requests (`requests` in all,
`plan_requests` made before applying, `apply_requests` sent while applying), 429s, 401s, the
achieved and the learned rate, and the exit code"."""


def _answered(sim: RunningSimulator, status: str | None = None) -> int:
    """Responses the simulator sent (token calls included), of ``status`` or of any."""
    by_route: dict[str, dict[str, int]] = sim.control.snapshot_stats()["by_route"]
    return sum(
        n
        for statuses in by_route.values()
        for code, n in statuses.items()
        if status is None or code == status
    )


async def test_apply_logs_json_lines_ending_in_one_summary_line(
    simulator_factory: SimulatorFactory, url: str, tmp_path: Path
) -> None:
    # A rate the limiter can learn, and sessions living 2 s. The 35-odd requests (a token, four
    # lists, 30 creates) need three refills of a 10-token bucket, so the run spans three of the
    # server's second boundaries, more than 2 s, and meets 401s. A renewed token waits at most
    # about a second for the next refill before it is used, well inside its 2 s.
    simulator = await simulator_factory(limits=Limits(replenish_rate=10, burst_capacity=10))
    simulator.control.set_token_lifetime(2.0)
    await fill(url, {"entities": [entity(1), entity(2, name=None), *map(entity, range(3, 31))]})
    done = await Syncer(
        write_config(tmp_path, simulator, url, max_in_flight=2), [simulator.client_secret]
    )("apply")
    assert done.code == ExitCode.ROWS_REJECTED

    lines = done.log_lines()
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines)
    summary, closing = done.event("apply finished"), done.event("exit")
    assert lines[-2:] == [summary, closing], "the summary line, then the error line, end the log"
    assert closing["message"].startswith("finished, but")
    assert closing["exit_code"] == ExitCode.ROWS_REJECTED
    assert closing["level"] == "error"
    assert summary.keys() >= SUMMARY_FIELDS
    assert summary["exit_code"] == ExitCode.ROWS_REJECTED
    assert summary["counts"] == {"entities": {"create": {"done": 29, "rejected": 1}}}
    assert summary["requests"] == _answered(simulator)
    assert summary["plan_requests"] + summary["apply_requests"] == summary["requests"]
    assert summary["apply_requests"] >= 30, "30 creates were sent while applying"
    assert summary["throttled"] == _answered(simulator, "429")
    assert summary["unauthorized"] == _answered(simulator, "401") > 0
    assert summary["learned_rate"] == 10
    assert summary["achieved_rate"] > 0

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            run = (await conn.execute(sa.select(runs))).one()
    finally:
        await engine.dispose()
    assert (summary["run_id"], summary["requests"]) == (run.id, run.requests)
    assert summary["plan_requests"] == run.plan_requests
