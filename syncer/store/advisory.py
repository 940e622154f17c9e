"""PostgreSQL session advisory locks: many keys held on one connection.

The server releases a session's advisory locks when its connection ends, so a killed process
never leaves one behind; that is why the run lock is one. One connection can hold the locks of
many firms: a process that runs many firms at once (``syncer worker``) holds them all on one
connection instead of one connection per firm in flight, which is what bounded the firms a
server with ``max_connections = 100`` could carry. PostgreSQL grants a session a lock it already
holds (session locks stack), so the keys held are also kept here, and asking again for one of
them is refused, as another session would be.

The connection is opened with the first lock and closed with the last. Should it break, every
lock on it is gone at once (the server releases them) and is forgotten here, just as a run's own
connection breaking released its lock before locks were shared; a run's heartbeat asks whether
its lock is still held (``holds``), so that a break is not noticed only by the next firm to
lock or unlock, after another process may have taken the lock. It runs in autocommit: a session
lock outlives any transaction, so a ``BEGIN`` and a ``COMMIT`` around each lock and unlock were
two round trips each for nothing.
"""

from __future__ import annotations

from contextlib import suppress

import anyio
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
_HOLDS = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND (classid::bigint << 32 | objid::bigint) = :key)"
)
"""Whether this session holds ``key`` (``pg_locks`` splits a bigint key into its two halves)."""


class AdvisoryLocks:
    """The advisory locks this process holds through one connection of ``engine``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._held: set[int] = set()
        self._turn = anyio.Lock()
        """One statement at a time: a connection is not shared by concurrent statements."""

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    async def try_lock(self, key: int) -> bool:
        """Take ``key`` at once if nobody (this process included) holds it; never waits."""
        async with self._turn:
            if key in self._held:
                return False
            with anyio.CancelScope(shield=True):  # a lock taken is always known here
                got = bool(await self._statement(_TRY_LOCK, key))
                if got:
                    self._held.add(key)
                else:
                    await self._close_when_idle()
            return got

    async def unlock(self, key: int) -> None:
        """Release ``key`` (a key not held, e.g. after the connection broke, is left alone). A
        session that fails to unlock is dropped, and the server releases its keys with it: the
        key is released either way, so the failure is not the caller's (``RunLock.hold`` ends
        with this, and an error here replaced the outcome of the run)."""
        async with self._turn:
            if key not in self._held:
                return
            with anyio.CancelScope(shield=True):
                self._held.discard(key)
                with suppress(Exception):
                    await self._statement(_UNLOCK, key)
                await self._close_when_idle()

    async def holds(self, key: int) -> bool:
        """Whether ``key`` is still held, asked of the server: a session that broke (a network
        failure, a restarted server, an administrator's ``pg_terminate_backend``) lost its locks
        at once, and nothing here hears of it until its next statement, while another process
        may already take them. A run's heartbeat asks, and stops the run."""
        held = False
        async with self._turn:
            if key in self._held:
                with anyio.CancelScope(shield=True):
                    try:
                        held = bool(await self._statement(_HOLDS, key))
                    except Exception:  # the session is dropped: its locks are gone with it
                        return False
                    if not held:
                        self._held.discard(key)
                        await self._close_when_idle()
        return held

    async def _statement(self, statement: TextClause, key: int) -> object:
        if self._conn is None:
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            value = await self._conn.scalar(statement, {"key": key})
        except BaseException:
            await self._drop()
            raise
        return value

    async def _close_when_idle(self) -> None:
        if not self._held and self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _drop(self) -> None:
        """The connection failed: whatever it held is released by the server, or will be."""
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # the failure itself is what the caller sees
                await conn.invalidate()
            with suppress(Exception):
                await conn.close()
