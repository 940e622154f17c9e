"""``syncer demo --size small`` end to end: simulator, SQLite, plan, apply, edits, next plan."""

from __future__ import annotations

import io
import re
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from rich.console import Console

from syncer.cli.main import cli
from syncer.demo.data import INVALID_OWNER_TYPE, Size, generate, mutate
from syncer.demo.run import DemoOptions, run_demo
from syncer.plan import key_text
from syncer.settings import load_settings
from syncer.store.tables import id_map, runs
from syncer.usecases import plan_firm


@pytest.mark.slow
def test_the_demo_runs_end_to_end_from_the_command_line(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--size", "small", "--dir", str(workdir)])
    output = result.output
    assert result.exit_code == 0, output

    data = generate(Size.SMALL)
    _, edits = mutate(data)
    # It says what it did, step by step, and where to look afterwards.
    assert "already holds" in output
    assert "300 clients" in output
    assert re.search(r"[\d,]+ changes done in [\d.]+ s with [\d,]+ requests", output)
    for edit in edits:
        assert edit.key in output
    # A long path is wrapped at the console's width (make test's folders are longer: a worker's).
    unwrapped = output.replace("\n", "")
    for name in ("plan-2.html", "syncer.db", "metrics.prom"):
        assert str((workdir / name).resolve()) in unwrapped

    # The files it names exist, and the next plan's report shows the edits and the invalid row.
    html = (workdir / "plan-2.html").read_text(encoding="utf-8")
    assert "(amalgamated)" in html
    assert INVALID_OWNER_TYPE in html
    assert "1 Harbourfront Plaza" in html, "the moved client's new address"
    assert "syncer_last_run_requests" in (workdir / "metrics.prom").read_text()
    assert "client_secret_file" in (workdir / "syncer.toml").read_text()
    assert (workdir / "client-secret").stat().st_mode & 0o077 == 0

    # The real apply engine ran once and succeeded; everything but the edits went through, so
    # the next plan holds exactly the edits (the invalid hire is listed, never sent).
    engine = sa.create_engine(f"sqlite:///{workdir / 'syncer.db'}")
    try:
        with engine.connect() as conn:
            statuses = conn.execute(sa.select(runs.c.command, runs.c.exit_code)).all()
            origins = dict(
                conn.execute(
                    sa.select(id_map.c.origin, sa.func.count())
                    .where(id_map.c.kind == "entities")
                    .group_by(id_map.c.origin)
                ).all()
            )
    finally:
        engine.dispose()
    assert statuses == [("apply", 0)]
    desired = {row["entity_no"] for row in data.rows["entities"]}
    prior = {o["EntityNo"] for o in data.seed_objects["entities"]}
    assert origins == {"created": len(desired - prior), "adopted": len(desired & prior)}
    assert f"Changes ({len(edits) - 1})" in output
    assert "Invalid rows (1)" in output


@pytest.mark.anyio
@pytest.mark.slow
async def test_keep_leaves_a_simulator_that_the_written_configuration_reaches(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    buffer = io.StringIO()
    async with anyio.create_task_group() as group:
        options = DemoOptions(workdir=workdir, keep=True)
        running = await group.start(run_demo, options, Console(file=buffer, width=200))
        assert running.base_url in buffer.getvalue()

        # Another command, configured only by the file the demo wrote, sees the demo's firm:
        # everything applied, except the edits made after the apply.
        settings = load_settings(workdir / "syncer.toml")
        plan = (await plan_firm(settings)).plan
        _, edits = mutate(generate(Size.SMALL))
        pending = {key_text(change.key) for change in plan.changes}
        assert pending, "the demo's edits should still be pending"
        assert pending <= {edit.key for edit in edits}
        group.cancel_scope.cancel()
