"""Advisory locks of many firms on one PostgreSQL session, and the run lock over them."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.lock import RunLock, advisory_key
from syncer.clock import ManualClock
from syncer.errors import ExitCode, RunLocked
from syncer.store.advisory import AdvisoryLocks
from syncer.store.db import create_engine
from syncer.store.tables import run_lock

pytestmark = pytest.mark.anyio

HOLDERS = text(
    "SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " ORDER BY objid"
)
"""Advisory locks held in this test's database (the server's other databases have their own)."""


@pytest.fixture
async def engines(migrated_postgres_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database: two processes, as far as PostgreSQL can tell."""
    first, second = create_engine(migrated_postgres_url), create_engine(migrated_postgres_url)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


async def _holders(engine: AsyncEngine) -> list[tuple[int, int]]:
    async with engine.connect() as conn:
        return [(row.objid, row.pid) for row in await conn.execute(HOLDERS)]


async def test_many_keys_share_one_connection_and_a_key_is_held_once(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = engines
    locks, elsewhere = AdvisoryLocks(mine), AdvisoryLocks(other)
    assert await locks.try_lock(1)
    assert await locks.try_lock(2)
    holders = await _holders(other)
    assert [objid for objid, _ in holders] == [1, 2]
    assert len({pid for _, pid in holders}) == 1, "both keys on one session"
    assert mine.pool.checkedout() == 1  # type: ignore[attr-defined]

    assert not await locks.try_lock(1), "PostgreSQL would grant it again; this session may not"
    assert not await elsewhere.try_lock(2), "another session is refused"
    assert await elsewhere.try_lock(3)

    await locks.unlock(1)
    assert await elsewhere.try_lock(1)
    await locks.unlock(2)
    assert mine.pool.checkedout() == 0, "the last lock released closes the connection"
    assert [objid for objid, _ in await _holders(other)] == [1, 3]
    await elsewhere.unlock(1)
    await elsewhere.unlock(3)
    assert await _holders(other) == []


async def _two_locks_on_one_session(
    mine: AsyncEngine, other: AsyncEngine
) -> tuple[AdvisoryLocks, int]:
    """Keys 1 and 2 locked on ``mine``'s lock session, and that session's backend pid."""
    locks = AdvisoryLocks(mine)
    assert await locks.try_lock(1)
    assert await locks.try_lock(2)
    (pid,) = {p for _, p in await _holders(other)}
    return locks, pid


async def test_the_lock_session_wraps_no_transaction_around_its_locks(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A session lock outlives transactions: the lock itself is the session's last statement,
    with no ``BEGIN`` before it nor ``COMMIT`` after it (two round trips each, for nothing)."""
    mine, other = engines
    locks, pid = await _two_locks_on_one_session(mine, other)
    async with other.connect() as conn:
        state, query = (
            await conn.execute(
                text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
        ).one()
    assert state == "idle"
    assert "pg_try_advisory_lock" in query
    await locks.unlock(1)
    await locks.unlock(2)


async def test_a_broken_session_forgets_its_locks_which_the_server_released(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = engines
    locks = AdvisoryLocks(mine)
    assert await locks.try_lock(1)
    async with other.connect() as conn:
        (pid,) = [p for objid, p in await _holders(other) if objid == 1]
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(OperationalError):
        await locks.try_lock(2)
    assert locks.held == frozenset()
    elsewhere = AdvisoryLocks(other)
    assert await elsewhere.try_lock(1), "the server released the lock"
    await locks.unlock(1)  # no longer held here: nothing to do, no error
    await elsewhere.unlock(1)


async def test_unlocking_a_key_whose_session_broke_unnoticed_is_no_error(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The server released the key with its session, which is all the unlock was for: an error
    here is raised from the end of ``RunLock.hold`` and replaces the outcome of the run."""
    mine, other = engines
    locks, pid = await _two_locks_on_one_session(mine, other)
    async with other.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await locks.unlock(1)
    assert locks.held == frozenset(), "the session is gone, and every key it held"
    await locks.unlock(2)
    elsewhere = AdvisoryLocks(other)
    assert await elsewhere.try_lock(1)
    assert await elsewhere.try_lock(2)
    await elsewhere.unlock(1)
    await elsewhere.unlock(2)


async def test_run_locks_of_one_process_share_its_session(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = engines
    shared = AdvisoryLocks(mine)
    async with (
        RunLock(mine, "acme", advisory=shared).hold(),
        RunLock(mine, "beta", advisory=shared).hold(),
    ):
        assert shared.held == {advisory_key("acme"), advisory_key("beta")}
        for engine, advisory in ((mine, shared), (other, None)):  # this process, another
            with pytest.raises(RunLocked) as caught:
                async with RunLock(engine, "acme", advisory=advisory).hold():
                    pass
            assert caught.value.exit_code is ExitCode.LOCKED
    assert shared.held == frozenset()
    async with RunLock(other, "acme").hold():
        pass


async def test_a_row_left_behind_is_overwritten_by_the_holder_of_the_advisory_lock(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """On PostgreSQL the advisory lock is the authority: a lock row another run left (killed on
    another host, its heartbeat still fresh) is overwritten, in one statement, by whoever holds
    the advisory lock, and the row then names this run until it ends."""
    mine, _ = engines
    fresh = datetime.now(UTC)
    async with mine.begin() as conn:
        await conn.execute(
            insert(run_lock).values(
                firm="acme", holder="elsewhere:1:x", acquired_at=fresh, heartbeat_at=fresh
            )
        )
    lock = RunLock(mine, "acme", advisory=AdvisoryLocks(mine))
    async with lock.hold():
        async with mine.connect() as conn:
            (holder,) = (await conn.execute(select(run_lock.c.holder))).scalars().all()
        assert holder.startswith(f"{socket.gethostname()}:{os.getpid()}:")
    async with mine.connect() as conn:
        assert (await conn.execute(select(run_lock))).all() == []


async def test_a_session_is_asked_whether_it_still_holds_a_key_of_either_sign(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = engines
    locks = AdvisoryLocks(mine)
    keys = [1, -1, 2**62 + 5, -(2**63), advisory_key("acme")]
    for key in keys:
        assert await locks.try_lock(key)
    assert [await locks.holds(key) for key in keys] == [True] * len(keys)
    assert not await locks.holds(2)
    assert not await AdvisoryLocks(other).holds(1), "another session holds none of them"
    (pid,) = {p for _, p in await _holders(other)}
    async with other.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert not await locks.holds(1)
    assert locks.held == frozenset()


async def _session_broken_while_held(
    mine: AsyncEngine, other: AsyncEngine, shared: AdvisoryLocks
) -> None:
    async with RunLock(mine, "acme", ManualClock(), advisory=shared).hold():
        (pid,) = {p for _, p in await _holders(other)}
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await anyio.sleep_forever()


async def test_a_run_whose_lock_session_breaks_stops_at_its_next_heartbeat(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The server releases a broken session's locks at once, and another process may take the
    firm (a queue retrying the job elsewhere): a run that went on unaware, its lock row still
    fresh, would run beside it. The heartbeat finds the session gone, and the run stops."""
    mine, other = engines
    shared = AdvisoryLocks(mine)
    with anyio.fail_after(10), pytest.raises(RunLocked, match="lock session") as caught:
        await _session_broken_while_held(mine, other, shared)
    assert caught.value.exit_code is ExitCode.LOCKED
    assert shared.held == frozenset()
    async with RunLock(other, "acme").hold():
        pass
