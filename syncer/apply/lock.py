"""One run per firm at a time.

On PostgreSQL the authority is a session advisory lock keyed by the firm: the server releases it
when the holder's connection dies, so a killed run never leaves it behind (``store.advisory``;
a worker running many firms holds all their locks on one connection). SQLite has no such
thing, so there the ``syncer_lock`` row is the authority: it names its holder (host, pid) and is
kept fresh by a heartbeat. A holder on this host is judged by its process alone: gone, its row is
taken over; alive, never, however old its heartbeat (a stopped or swapped-out process still runs).
A holder on another host is presumed dead once its heartbeat stopped long ago. A heartbeat that
finds no row of its own means another run took the lock, and one that finds the advisory
lock's session broken means the server released the lock: either way this run stops at once
(exit 75). Both dialects keep the row up to date, so the refusal message can say who holds the
lock and since when.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.clock import Clock, SystemClock, as_utc, utc_now
from syncer.concurrency import task_group
from syncer.errors import RunLocked
from syncer.store import AdvisoryLocks
from syncer.store.db import write_transaction
from syncer.store.tables import run_lock
from syncer.store.upsert import upsert

HEARTBEAT_SECONDS = 15.0
STALE_AFTER = timedelta(seconds=90)
"""A holder on another host whose heartbeat is older than this is presumed dead."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock: enough to tell whether that process still lives."""

    host: str
    pid: int
    nonce: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.nonce}"

    @classmethod
    def parse(cls, raw: str) -> Holder | None:
        host, _, rest = raw.partition(":")
        pid, _, nonce = rest.partition(":")
        return cls(host, int(pid), nonce) if pid.isdigit() else None

    @classmethod
    def me(cls) -> Holder:
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])

    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def is_dead(self) -> bool:
        """True only when certain: the holder ran on this host and its process is gone."""
        if not self.on_this_host():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def advisory_key(firm: str) -> int:
    """A stable signed 64-bit key per firm (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.sha256(f"syncer-run:{firm}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_RELEASE = (
    delete(run_lock)
    .where(run_lock.c.firm == bindparam("b_firm"))
    .where(run_lock.c.holder == bindparam("b_holder"))
)
"""Our row gone, built once (a worker releases a lock for every job)."""


class RunLock:
    """The lock of one firm, held for the lifetime of ``hold``."""

    def __init__(
        self,
        engine: AsyncEngine,
        firm: str,
        clock: Clock | None = None,
        *,
        advisory: AdvisoryLocks | None = None,
    ) -> None:
        """``advisory`` is the session holding this process's run locks on PostgreSQL when it
        runs many firms (``store.engines``); without it the lock takes a connection of its own."""
        self._engine = engine
        self._firm = firm
        self._clock = clock or SystemClock()
        self._holder = Holder.me()
        self._advisory = advisory

    def _now(self) -> datetime:
        return utc_now(self._clock)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Acquire at once or raise ``RunLocked`` (exit 75); release on the way out."""
        is_postgres = self._engine.dialect.name == "postgresql"
        advisory: AdvisoryLocks | None = None
        key = advisory_key(self._firm)
        if is_postgres:
            advisory = self._advisory or AdvisoryLocks(self._engine)
            if not await advisory.try_lock(key):
                raise RunLocked(await self._refusal())
        try:
            await self._claim_row(force=is_postgres)
            async with task_group() as tg:
                tg.start_soon(self._heartbeat, advisory, key)
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._release_row()
                if advisory is not None:
                    await advisory.unlock(key)

    async def _claim_row(self, *, force: bool) -> None:
        """Write our row; on SQLite take over a stale one or refuse a live one. ``force`` (the
        advisory lock is held, so any row left is a dead run's): overwrite whatever is there,
        in one statement."""
        now = self._now()
        values = {"holder": str(self._holder), "acquired_at": now, "heartbeat_at": now}
        async with write_transaction(self._engine) as conn:
            if force:
                await upsert(
                    conn,
                    run_lock,
                    [{"firm": self._firm, "run_id": None, **values}],
                    conflict=["firm"],
                    update=["run_id", *values],
                )
                return
            try:
                await conn.execute(insert(run_lock).values(firm=self._firm, **values))
                return
            except IntegrityError:
                pass
        async with write_transaction(self._engine) as conn:
            row = (
                await conn.execute(select(run_lock).where(run_lock.c.firm == self._firm))
            ).one_or_none()
            if row is not None and self._is_stale(row.holder, as_utc(row.heartbeat_at)):
                # Conditional on the old holder: of two runs taking over at once, one wins.
                taken = await conn.execute(
                    update(run_lock)
                    .where(run_lock.c.firm == self._firm)
                    .where(run_lock.c.holder == row.holder)
                    .values(**values)
                )
                if taken.rowcount == 1:
                    return
        raise RunLocked(await self._refusal())

    def _is_stale(self, holder: str, heartbeat: datetime) -> bool:
        parsed = Holder.parse(holder)
        if parsed is not None and parsed.on_this_host():
            return parsed.is_dead()
        return self._now() - heartbeat > STALE_AFTER

    async def _heartbeat(self, advisory: AdvisoryLocks | None, key: int) -> None:
        """Keep our row fresh; stop the run (``RunLocked``) once the lock is no longer ours: the
        row taken over, or on PostgreSQL the advisory lock's session broken (the server released
        the lock with it, so another run may hold it already)."""
        while True:
            await self._clock.sleep(HEARTBEAT_SECONDS)
            if advisory is not None and not await advisory.holds(key):
                raise RunLocked(
                    f"the run lock of firm {self._firm!r} was lost with its lock session (the "
                    "database connection holding it broke); stopping this run at once"
                )
            async with write_transaction(self._engine) as conn:
                beat = await conn.execute(
                    update(run_lock)
                    .where(run_lock.c.firm == self._firm)
                    .where(run_lock.c.holder == str(self._holder))
                    .values(heartbeat_at=self._now())
                )
            if beat.rowcount == 0:
                raise RunLocked(
                    f"the run lock of firm {self._firm!r} was taken over by another run; "
                    "stopping this one at once"
                )

    async def _release_row(self) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(_RELEASE, {"b_firm": self._firm, "b_holder": str(self._holder)})

    async def _refusal(self) -> str:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(run_lock).where(run_lock.c.firm == self._firm))
            ).one_or_none()
        who = (
            f" (held by {row.holder} since {as_utc(row.acquired_at):%Y-%m-%d %H:%M:%S} UTC)"
            if row is not None
            else ""
        )
        return (
            f"another syncer run is in progress for firm {self._firm!r}{who}; "
            "try again when it has finished"
        )
