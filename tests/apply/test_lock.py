"""The run lock: one run per firm; a dead holder's lock is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.lock import STALE_AFTER, RunLock
from syncer.clock import ManualClock
from syncer.errors import ExitCode, RunLocked
from syncer.store.db import create_engine
from syncer.store.tables import run_lock

pytestmark = pytest.mark.anyio


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def test_a_second_run_of_the_same_firm_is_refused(engine: AsyncEngine) -> None:
    async with RunLock(engine, "acme").hold():
        with pytest.raises(RunLocked, match="another syncer run is in progress") as caught:
            async with RunLock(engine, "acme").hold():
                pass
        assert caught.value.exit_code is ExitCode.LOCKED
        async with RunLock(engine, "other-firm").hold():
            pass
    async with RunLock(engine, "acme").hold():
        pass
    async with engine.connect() as conn:
        assert (await conn.execute(select(run_lock))).all() == []


async def _plant(engine: AsyncEngine, holder: str, heartbeat: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(run_lock).values(
                firm="acme", holder=holder, acquired_at=heartbeat, heartbeat_at=heartbeat
            )
        )


async def test_the_lock_of_a_dead_process_is_taken_over(engine: AsyncEngine) -> None:
    await _plant(engine, f"{socket.gethostname()}:{dead_pid()}:x", datetime.now(UTC))
    async with RunLock(engine, "acme").hold():
        pass


async def test_a_stale_heartbeat_from_another_host_is_taken_over(engine: AsyncEngine) -> None:
    await _plant(engine, "elsewhere:1:x", datetime.now(UTC) - STALE_AFTER - timedelta(seconds=1))
    async with RunLock(engine, "acme").hold():
        pass


async def test_a_fresh_lock_row_of_a_live_holder_is_respected_on_sqlite(
    migrated_sqlite_url: str,
) -> None:
    """SQLite only: on PostgreSQL the advisory lock, not the row, is the authority."""
    engine = create_engine(migrated_sqlite_url)
    try:
        await _plant(engine, "elsewhere:1:x", datetime.now(UTC))
        with pytest.raises(RunLocked, match="elsewhere:1:x"):
            async with RunLock(engine, "acme").hold():
                pass
    finally:
        await engine.dispose()


async def test_an_error_inside_the_lock_arrives_as_itself(engine: AsyncEngine) -> None:
    """Not wrapped in an ExceptionGroup by the heartbeat's task group: the CLI maps it to its
    exit code."""
    with pytest.raises(RunLocked, match="inner"):
        async with RunLock(engine, "acme").hold():
            raise RunLocked("inner")


async def test_a_live_holder_on_this_host_is_never_stale_on_sqlite(
    migrated_sqlite_url: str,
) -> None:
    """Its heartbeat may be ten minutes old (a stopped process): while it lives, it holds."""
    engine = create_engine(migrated_sqlite_url)
    try:
        long_ago = datetime.now(UTC) - STALE_AFTER * 7
        await _plant(engine, f"{socket.gethostname()}:{os.getpid()}:x", long_ago)
        with pytest.raises(RunLocked, match="another syncer run is in progress"):
            async with RunLock(engine, "acme").hold():
                pass
    finally:
        await engine.dispose()


async def _taken_over_while_held(engine: AsyncEngine) -> None:
    async with RunLock(engine, "acme", ManualClock()).hold():
        async with engine.begin() as conn:
            await conn.execute(delete(run_lock))
        await anyio.sleep_forever()


async def test_a_heartbeat_that_finds_no_row_stops_the_run_at_once(engine: AsyncEngine) -> None:
    with anyio.fail_after(10), pytest.raises(RunLocked, match="taken over") as caught:
        await _taken_over_while_held(engine)
    assert caught.value.exit_code is ExitCode.LOCKED
