"""The journal's writes per request, grouped across every run of a process on one engine.

A run paced by its server (20 requests a second, say) sends its requests one at a time, so its
own group commit found nobody to group with: each request paid two transactions of its own (the
intent, then the result), each a connection taken and handed back, BEGIN, the statement and
COMMIT, about 2 ms of CPU on PostgreSQL, where the statement in a shared transaction costs a
tenth of that. A worker carrying fifty such firms paid it a thousand times a second. So the
journals of one process that share an engine (``syncer worker``'s firms share the worker's
engines, ``store.SharedEngines``) share one group commit (``apply.groupcommit``): the intents and
results of every run that arrive while a transaction is being written go together in the next
one, each statement executed once for all of them, whichever firm they belong to. A caller still
returns only once its own rows are committed, so the journal's promise holds per change: the
intent is durable before the request leaves, and a result lands with its id-map entry and its
retry-index update. A group that fails is written again one item at a time, so one run's bad
write fails that run's caller only.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from syncer.apply.backoff import clear_failures, record_failure
from syncer.apply.groupcommit import GroupCommit
from syncer.apply.journal_keys import stored_key
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.plan import Action, Change
from syncer.state import Ownership
from syncer.store import journal_writes
from syncer.store.bulk import execute_many
from syncer.store.db import write_transaction
from syncer.store.idmap import forget, ownership_rows, upsert_ownership
from syncer.store.tables import changes

MARK_SENT = (
    update(changes)
    .where(changes.c.id == bindparam("b_id"))
    .values(
        status=str(ChangeStatus.SENT),
        attempts=changes.c.attempts + 1,
        payload=bindparam("b_payload", type_=changes.c.payload.type),
        updated_at=bindparam("b_now", type_=changes.c.updated_at.type),
    )
)
"""An intent, by row id. The journal's statements are built once: building one per write (and
its cache key) cost more CPU than executing it when changes go one at a time."""

SETTLE = (
    update(changes)
    .where(changes.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status", type_=changes.c.status.type),
        message=bindparam("b_message", type_=changes.c.message.type),
        remote_id=bindparam("b_remote_id", type_=changes.c.remote_id.type),
        updated_at=bindparam("b_now", type_=changes.c.updated_at.type),
    )
)
"""An outcome, by row id. (Every parameter is typed: ``store.bulk`` sends each as an array.)"""


ROW = ("b_id",)
"""What names the journal row a ``MARK_SENT`` or ``SETTLE`` parameter set writes."""


@dataclass(frozen=True, slots=True)
class RunWrite:
    """One run's intents or results: an item of a group transaction."""

    firm: str
    run_id: int
    now: datetime
    sent: Sequence[Mapping[str, object]] = ()
    """``MARK_SENT`` parameters, one per journal row."""
    settled: Sequence[Mapping[str, object]] = ()
    """``SETTLE`` parameters, one per journal row."""
    results: Sequence[tuple[Change, Outcome]] = ()
    """The outcomes whose effects (id map, retry index) go with them."""
    failing: Container[tuple[str, str]] | None = None
    """The (kind, stored key)s that may have a failure row to clear when their change goes
    through (``Journal.failing``); ``None``: any may."""


async def write_runs(conn: AsyncConnection, writes: Sequence[RunWrite]) -> None:
    """Every item's rows in ``conn``'s transaction, one statement per kind of write."""
    sent = [row for write in writes for row in write.sent]
    await execute_many(conn, MARK_SENT, sent, key=ROW)
    settled = [row for write in writes for row in write.settled]
    await execute_many(conn, SETTLE, settled, key=ROW)
    await record_effects(conn, [write for write in writes if write.results])


async def record_effects(conn: AsyncConnection, writes: Sequence[RunWrite]) -> None:
    """What the outcomes change besides their journal rows, one statement per effect for all of
    them: id-map entries made (creates, adoptions) or dropped (deletes), failures counted
    (rejections) or forgotten (successes)."""
    owned = [
        row
        for write in writes
        for row in ownership_rows(
            write.firm, _ownerships(write.results), now=write.now, run_id=write.run_id
        )
    ]
    await upsert_ownership(conn, owned)
    deleted: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for write in writes:
        for change, outcome in write.results:
            if outcome.status is ChangeStatus.DONE and change.action is Action.DELETE:
                deleted[write.firm, change.kind].append(change.object_key)
    for (firm, kind), keys in deleted.items():
        await forget(conn, firm, kind, keys)
    for write in writes:
        for change, outcome in write.results:
            if outcome.status is ChangeStatus.REJECTED:
                await record_failure(conn, write.firm, change, outcome.message, write.now)
    done = [
        (write.firm, change)
        for write in writes
        for change, outcome in write.results
        if outcome.status is ChangeStatus.DONE and _may_have_failed(write, change)
    ]
    await clear_failures(conn, done)


def _may_have_failed(write: RunWrite, change: Change) -> bool:
    """Whether ``change``'s key may have a failure row: a run knows its firm's (nearly always
    none), so a group of changes that went through costs no ``DELETE`` of failures that are
    not there."""
    return write.failing is None or (change.kind, stored_key(change.key)) in write.failing


def _ownerships(results: Sequence[tuple[Change, Outcome]]) -> list[Ownership]:
    return [
        Ownership(
            change.kind, change.object_key, outcome.remote.cwguid, outcome.remote.id, outcome.origin
        )
        for change, outcome in results
        if outcome.remote is not None and outcome.origin is not None
    ]


_SHARED: weakref.WeakKeyDictionary[AsyncEngine, GroupCommit[RunWrite]] = weakref.WeakKeyDictionary()


def shared_writes(engine: AsyncEngine) -> GroupCommit[RunWrite]:
    """The group commit of every journal on ``engine`` in this process (made on first use,
    gone with the engine), with as many transactions in flight as the engine's
    ``store.engines.JOURNAL_WRITES`` says."""
    found = _SHARED.get(engine)
    if found is None:
        write = _writer(weakref.ref(engine))
        found = _SHARED[engine] = GroupCommit(write, writers=journal_writes(engine))
    return found


def _writer(
    engine: weakref.ref[AsyncEngine],
) -> Callable[[Sequence[RunWrite]], Awaitable[None]]:
    """Writes a group in one transaction; holds the engine weakly, so the registry's value does
    not keep its own key alive."""

    async def write(writes: Sequence[RunWrite]) -> None:
        alive = engine()
        assert alive is not None, "a journal outlived its engine"
        async with write_transaction(alive) as conn:
            await write_runs(conn, writes)

    return write
