"""One database engine per URL for a process that runs many firms at once (``syncer worker``).

Each firm a worker runs used to open an engine of its own (a pool of connections) and hold one
more connection for its run lock, so a worker held about two PostgreSQL connections per firm in
flight and a server's ``max_connections`` bounded how many firms a fleet could run at once. Here
the firms of a worker that share a database share its engine, whose pool is sized for the
worker's concurrency and opened lazily (a firm in flight mostly waits for Cloud and needs a
connection only for its journal's short transactions), and one session holding every run lock
(``store.advisory``). ``syncer apply`` and the other commands keep an engine of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.store.advisory import AdvisoryLocks
from syncer.store.db import create_engine

JOURNAL_WRITES = "syncer_journal_writes"
"""Engine option: how many of the journal's group transactions (``apply.journal_writes``) may be
in flight at once on the engine; one unless set.

One at a time suits a process running one firm (``syncer apply``): what arrives while a group
is being written all goes in the next, so groups grow with the load and a group of N changes
costs one commit, not N/4 (2,000 creates on PostgreSQL took 492 commits with four in flight).
A worker's shared engine (``SharedEngines``) keeps ``PARALLEL_WRITES`` on PostgreSQL: with many
firms on one busy event loop, a transaction's every round trip waits a turn of the loop, and one
at a time made each write wait for a queue of them. SQLite has one writer at a time whatever is
asked."""

PARALLEL_WRITES = 4
"""``JOURNAL_WRITES`` of a worker's shared PostgreSQL engine: under load each group carries
what arrived during the others, and a write waits for one transaction, not for a queue."""


def journal_writes(engine: AsyncEngine) -> int:
    """The engine's ``JOURNAL_WRITES``."""
    if engine.dialect.name == "sqlite":
        return 1
    writes: int = engine.sync_engine.get_execution_options().get(JOURNAL_WRITES, 1)
    return writes


@dataclass(frozen=True, slots=True)
class SharedDatabase:
    """A database as the firms of one process share it: the engine and its lock session."""

    engine: AsyncEngine
    advisory: AdvisoryLocks


class SharedEngines:
    """Engines by URL, each pooling at most ``connections`` connections, the run locks' one
    included; a firm that finds the pool busy waits up to ``wait_seconds`` for a connection."""

    def __init__(self, connections: int, *, wait_seconds: float = 300.0) -> None:
        if connections < 2:
            raise ValueError("a shared engine needs two connections: run locks and work")
        self._connections = connections
        self._wait = wait_seconds
        self._opened: dict[str, SharedDatabase] = {}

    def get(self, url: str) -> SharedDatabase:
        """The shared database at ``url``, opened on first use."""
        found = self._opened.get(url)
        if found is None:
            engine = create_engine(
                url,
                pool_size=self._connections,
                max_overflow=0,
                pool_timeout=self._wait,
                execution_options={JOURNAL_WRITES: PARALLEL_WRITES},
            )
            found = self._opened[url] = SharedDatabase(engine, AdvisoryLocks(engine))
        return found

    async def dispose(self) -> None:
        """Close every engine (the firms using them have finished)."""
        opened, self._opened = self._opened, {}
        for database in opened.values():
            await database.engine.dispose()
