"""The README's exit-code table, row by row, through the real ``syncer`` command.

Each test runs ``syncer`` as a process against the simulator (or against nothing at all, for 69)
and checks the code and what the table's "what to do" column tells the operator to look at.
The rows a misbehaving server produces (69 after 5xx, 76, 77 from a redirect...) belong to the
hostile-server tests; these are the rows a well-behaved Cloud and an ordinary operator produce.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.apply.lock import RunLock
from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import changes, desired_tables, failed_keys
from tests.apply.support import entity, fill, objects
from tests.readme.command import Syncer, write_config

pytestmark = pytest.mark.anyio


async def test_2_while_changes_are_pending_then_0_after_apply(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    syncer = Syncer(write_config(tmp_path, simulator, url), [simulator.client_secret])
    await fill(url, {"entities": [entity(1)]})
    assert (await syncer("plan", "--detailed-exitcode")).code == ExitCode.CHANGES_PENDING
    assert (await syncer("apply")).code == ExitCode.OK
    assert (await syncer("plan", "--detailed-exitcode")).code == ExitCode.OK


async def test_3_rejected_rows_are_in_the_journal_and_held_back_for_6_hours(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    syncer = Syncer(write_config(tmp_path, simulator, url), [simulator.client_secret])
    await fill(url, {"entities": [entity(1), entity(2, name=None), entity(3)]})
    done = await syncer("apply")
    assert done.code == ExitCode.ROWS_REJECTED
    assert "syncer runs" in done.stderr
    assert "syncer_changes" in done.stderr
    assert {o["EntityNo"] for o in objects(simulator, "entities")} == {"C-0001", "C-0003"}

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rejected = (
                await conn.execute(sa.select(changes).where(changes.c.status == "rejected"))
            ).one()
            held = (await conn.execute(sa.select(failed_keys))).one()
    finally:
        await engine.dispose()
    assert (rejected.kind, rejected.key) == ("entities", "C-0002")
    assert "Name" in (rejected.message or ""), "the API's message is kept"
    assert (held.kind, held.key, held.failures) == ("entities", "C-0002", 1)
    assert held.next_attempt_at - held.last_failed_at == timedelta(hours=6)


async def test_4_the_delete_threshold_stops_apply_until_allow_deletes(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    mirror = '\n[sync]\nmodes = { entities = "mirror" }\nretire_threshold_count = 1\n'
    config = write_config(tmp_path, simulator, url, extra=mirror)
    syncer = Syncer(config, [simulator.client_secret])
    await fill(url, {"entities": [entity(n) for n in range(1, 5)]})
    assert (await syncer("apply")).code == ExitCode.OK

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            table = desired_tables["entities"]
            await conn.execute(sa.delete(table).where(table.c.entity_no != "C-0001"))
    finally:
        await engine.dispose()
    stopped = await syncer("apply")
    assert stopped.code == ExitCode.SAFETY_STOP
    assert "would deactivate 3 of 4 entities" in stopped.stderr
    assert "--allow-deletes" in stopped.stderr
    assert {o["Type"] for o in objects(simulator, "entities")} == {"A"}, "nothing was retired"

    released = await syncer("apply", "--allow-deletes")
    assert released.code == ExitCode.OK, released.stderr
    active = {o["EntityNo"]: o["Type"] for o in objects(simulator, "entities")}
    assert active == {"C-0001": "A", "C-0002": "I", "C-0003": "I", "C-0004": "I"}


@pytest.mark.parametrize("args", [("apply", "--max-in-flight", "0"), ("plan", "--format", "pdf")])
async def test_64_a_wrong_command_line(
    simulator: RunningSimulator, url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    syncer = Syncer(write_config(tmp_path, simulator, url), [simulator.client_secret])
    done = await syncer(*args)
    assert done.code == ExitCode.USAGE
    assert simulator.control.snapshot_stats()["auth_calls"] == 0, "no request on bad usage"


def _closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_69_nothing_listening(simulator: RunningSimulator, url: str, tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    config = write_config(tmp_path, simulator, url, base_url=nowhere, max_retries=1)
    await fill(url, {"entities": [entity(1)]})
    done = await Syncer(config, [simulator.client_secret])("apply")
    assert done.code == ExitCode.UNREACHABLE, done.stderr
    assert done.log_lines()[-1] == done.event("exit"), "the error line ends the log"
    assert done.event("exit")["exit_code"] == ExitCode.UNREACHABLE


async def test_75_another_live_run_holds_the_lock(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    syncer = Syncer(write_config(tmp_path, simulator, url), [simulator.client_secret])
    await fill(url, {"entities": [entity(1)]})
    engine = create_engine(url)
    try:
        async with RunLock(engine, simulator.firm).hold():
            done = await syncer("apply")
    finally:
        await engine.dispose()
    assert done.code == ExitCode.LOCKED
    assert "another syncer run is in progress" in done.stderr
    assert objects(simulator, "entities") == []


async def test_77_apply_with_a_secret_that_was_reset(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    wrong = "not-the-secret-0123456789"
    config = write_config(tmp_path, simulator, url, secret=wrong)
    await fill(url, {"entities": [entity(1)]})
    done = await Syncer(config, [simulator.client_secret, wrong])("apply")
    assert done.code == ExitCode.CREDENTIALS_REJECTED, done.stderr
    assert objects(simulator, "entities") == []


async def test_78_a_configuration_error_names_the_key(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    extra = "\n[sync]\nretire_threshold_ratio = 2\n"
    done = await Syncer(write_config(tmp_path, simulator, url, extra=extra))("apply")
    assert done.code == ExitCode.CONFIG
    assert "sync.retire_threshold_ratio" in done.stderr
    assert simulator.control.snapshot_stats()["auth_calls"] == 0
