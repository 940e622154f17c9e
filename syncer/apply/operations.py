"""What each change becomes on the wire, and how each answer is recorded.

Every job follows the same discipline: journal the intent (``sent``), send, then settle the
outcome together with its id-map entry. Creates are never repeated blindly: when the outcome of a
create is unknown (timeout, dropped connection, 5xx after sending) or the API answers 409, the
object is looked up by its natural key first; found after an unknown outcome means it was ours
(origin created); found after a 409 means someone else made it (adopted, then updated where its
fields differ). A 4xx for one row rejects that change only; an assignment batch refused as a
whole is bisected (``apply.bisect``) so only its bad members are rejected; credentials refused or
Cloud gone stop the whole run, after recording what was in flight.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence

import anyio

from syncer.apply.api import CloudApi
from syncer.apply.bisect import Answer, Send, send_bisected
from syncer.apply.children import perform_child_change
from syncer.apply.creating import create_once
from syncer.apply.error_rate import ErrorRateGuard
from syncer.apply.journal import Journal
from syncer.apply.link_batches import LinkBatch, batches
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.apply.scheduler import Job
from syncer.cloud import ApiError, NotFound, Rejected
from syncer.errors import CloudContractBroken, CloudUnreachable, CredentialsRejected
from syncer.logs import get_logger
from syncer.model import (
    CHILD_KINDS,
    OBJECT_KINDS,
    RELATION_KINDS,
    ChildKind,
    ObjectKind,
    normalise_key,
)
from syncer.plan import MEMBER_ID, PARENT_ID, Action, Change
from syncer.state import Origin, RemoteObject
from syncer.value_rules import api_differences

log = get_logger(__name__)

FAILED_STATUSES = frozenset({ChangeStatus.REJECTED, ChangeStatus.FAILED})


def body_of(change: Change) -> dict[str, object]:
    """The request body of an object change: new values plus what every PATCH must carry."""
    body: dict[str, object] = {name: fc.after for name, fc in change.fields.items()}
    body.update(change.carry)
    return body


def exists(kind: str, key: str) -> tuple[str, str, str]:
    """Scheduler token: the object of this kind and (normalised) key exists in Cloud."""
    return ("exists", kind, normalise_key(kind, key))


def detached(cwguid: str) -> tuple[str, str]:
    """Scheduler token: the assignments of this object that the plan removes are gone."""
    return ("detached", cwguid.lower())


class Executor:
    """Builds the scheduler's jobs for a list of changes and runs each against ``client``."""

    def __init__(
        self,
        client: CloudApi,
        journal: Journal,
        guard: ErrorRateGuard,
        *,
        on_settled: Callable[[str, int], None],
        on_stop: Callable[[], None],
    ) -> None:
        self._client = client
        self._journal = journal
        self._guard = guard
        self._on_settled = on_settled
        self._on_stop = on_stop
        self._created: dict[tuple[str, str], str] = {}
        self._in_flight: set[anyio.CancelScope] = set()
        self.fatal: CredentialsRejected | CloudUnreachable | CloudContractBroken | None = None
        """The error that stopped the run, re-raised once in-flight work is recorded."""

    def jobs(self, changes: Sequence[Change]) -> list[Job]:
        """One job per object change, one per batch of assignments; dependencies as tokens."""
        result = [self._object_job(c) for c in changes if c.kind in OBJECT_KINDS]
        result += [self._child_job(c) for c in changes if c.kind in CHILD_KINDS]
        for relation in RELATION_KINDS.values():
            mine = [c for c in changes if c.kind == relation.name]
            result += [self._batch_job(b) for b in batches(relation, mine)]
        return result

    # -- objects ------------------------------------------------------------------------------

    def _object_job(self, change: Change) -> Job:
        provides: frozenset[Hashable] = frozenset()
        requires: frozenset[Hashable] = frozenset()
        if change.action is Action.CREATE:
            provides = frozenset({exists(change.kind, change.object_key)})
        elif change.action in (Action.DELETE, Action.DEACTIVATE) and change.remote_id:
            requires = frozenset({detached(change.remote_id)})

        async def run() -> bool:
            return await self._run_object(change)

        async def skip() -> None:
            await self._settle([(change, Outcome(ChangeStatus.SKIPPED, "a dependency failed"))])

        return Job(run, skip, requires, provides)

    async def _run_object(self, change: Change) -> bool:
        kind = OBJECT_KINDS[change.kind]
        body = body_of(change)
        await self._journal.sent([change], body)
        perform = self._performers[change.action]
        outcome = await self._guarded(lambda: perform(self, kind, change, body))
        await self._settle([(change, outcome)], attempted=True)
        return outcome.status is ChangeStatus.DONE

    async def _create(
        self, kind: ObjectKind, change: Change, body: Mapping[str, object]
    ) -> Outcome:
        async def created(answer: RemoteObject) -> Outcome:
            return Outcome(ChangeStatus.DONE, None, answer, Origin.CREATED)

        return await create_once(
            lambda: self._client.create(kind, body),
            lambda: self._client.find_by_key(kind, change.object_key),
            created,
            lambda found: self._adopt(kind, found, body),
            found_by="key",
        )

    async def _adopt(
        self, kind: ObjectKind, found: RemoteObject, body: Mapping[str, object]
    ) -> Outcome:
        """Take over an object that already held the key; update the fields that differ."""
        differing = api_differences(kind.fields, body, found.fields)
        if not differing:
            return Outcome(ChangeStatus.DONE, "adopted an existing object", found, Origin.ADOPTED)
        patch = {name: body[name] for name in kind.patch_carries if name in body} | differing
        try:
            updated = await self._client.update(kind, found.cwguid, patch)
        except Rejected as exc:
            return Outcome(ChangeStatus.REJECTED, exc.message, found, Origin.ADOPTED)
        return Outcome(
            ChangeStatus.DONE, "adopted an existing object and updated it", updated, Origin.ADOPTED
        )

    async def _update(
        self, kind: ObjectKind, change: Change, body: Mapping[str, object]
    ) -> Outcome:
        assert change.remote_id is not None
        await self._client.update(kind, change.remote_id, body)
        return Outcome(ChangeStatus.DONE)

    async def _delete(
        self, kind: ObjectKind, change: Change, body: Mapping[str, object]
    ) -> Outcome:
        assert change.remote_id is not None
        try:
            await self._client.delete(kind, change.remote_id)
        except NotFound:
            return Outcome(ChangeStatus.DONE, "already gone")
        return Outcome(ChangeStatus.DONE)

    _performers: Mapping[
        Action,
        Callable[[Executor, ObjectKind, Change, Mapping[str, object]], Awaitable[Outcome]],
    ] = {
        Action.CREATE: _create,
        Action.UPDATE: _update,
        Action.DEACTIVATE: _update,
        Action.DELETE: _delete,
    }

    # -- children (addresses) -----------------------------------------------------------------

    def _child_job(self, change: Change) -> Job:
        """A child waits for its parent when the plan creates the parent."""
        kind = CHILD_KINDS[change.kind]
        requires: frozenset[Hashable] = frozenset()
        if change.action is Action.CREATE and change.carry.get(PARENT_ID) is None:
            requires = frozenset({exists(kind.parent_kind, kind.split_key(change.object_key)[0])})

        async def run() -> bool:
            return await self._run_child(kind, change)

        async def skip() -> None:
            await self._settle([(change, Outcome(ChangeStatus.SKIPPED, "a dependency failed"))])

        return Job(run, skip, requires, frozenset())

    async def _run_child(self, kind: ChildKind, change: Change) -> bool:
        parent_key = normalise_key(kind.parent_kind, kind.split_key(change.object_key)[0])
        carried = change.carry.get(PARENT_ID)
        parent = carried if isinstance(carried, str) else None
        parent = parent or self._created.get((kind.parent_kind, parent_key))
        if parent is None and change.action is Action.CREATE:
            missing = Outcome(ChangeStatus.SKIPPED, f"its {kind.parent_kind} row does not exist")
            await self._settle([(change, missing)])
            return False
        await self._journal.sent([change], body_of(change))
        outcome = await self._guarded(
            lambda: perform_child_change(self._client, kind, change, parent)
        )
        await self._settle([(change, outcome)], attempted=True)
        return outcome.status is ChangeStatus.DONE

    # -- assignments --------------------------------------------------------------------------

    def _batch_job(self, batch: LinkBatch) -> Job:
        relation = batch.relation
        requires: set[Hashable] = set()
        provides: set[Hashable] = set()
        if batch.parent_id is None:
            requires.add(exists(relation.parent_kind, batch.parent))
        for _, ends in batch.items:
            if ends.member_id is None:
                requires.add(exists(relation.member_kind, ends.member))
            if batch.remove:
                provides |= {detached(g) for g in (ends.parent_id, ends.member_id) if g}

        async def run() -> bool:
            return await self._run_batch(batch)

        async def skip() -> None:
            failed = Outcome(ChangeStatus.SKIPPED, "a dependency failed")
            await self._settle([(change, failed) for change, _ in batch.items])

        return Job(run, skip, frozenset(requires), frozenset(provides))

    async def _run_batch(self, batch: LinkBatch) -> bool:
        relation = batch.relation
        parent = batch.parent_id or self._created.get(
            (relation.parent_kind, normalise_key(relation.parent_kind, batch.parent))
        )
        sendable: list[tuple[Change, str]] = []
        unresolved: list[Change] = []
        for change, ends in batch.items:
            member = ends.member_id or self._created.get(
                (relation.member_kind, normalise_key(relation.member_kind, ends.member))
            )
            if parent is None or member is None:
                unresolved.append(change)
            else:
                sendable.append((change, member))
        if unresolved:
            reason = Outcome(ChangeStatus.SKIPPED, "an end of the assignment does not exist")
            await self._settle([(change, reason) for change in unresolved])
        if not sendable or parent is None:
            return False
        members = [member for _, member in sendable]
        await self._journal.sent(
            [change for change, _ in sendable], {"parent": parent, MEMBER_ID + "s": members}
        )
        result = await send_bisected(sendable, self._member_sender(batch, parent))
        if result.extra_requests:
            log.info(
                "assignment batch bisected",
                kind=relation.name,
                parent=batch.parent,
                members=len(sendable),
                rejected=sum(o.status is ChangeStatus.REJECTED for _, o in result.outcomes),
                extra_requests=result.extra_requests,
            )
        settled = [(change, outcome) for (change, _), outcome in result.outcomes]
        await self._settle(settled, attempted=True)
        done = all(outcome.status is ChangeStatus.DONE for _, outcome in settled)
        return done and not unresolved

    def _member_sender(self, batch: LinkBatch, parent: str) -> Send[tuple[Change, str]]:
        """One PATCH of some of the batch's members; a refusal other than the parent's 404 may
        be one member's fault, so the batch is worth halving."""

        async def send(part: Sequence[tuple[Change, str]]) -> Answer:
            if self.fatal is not None:
                return Answer(Outcome(ChangeStatus.UNKNOWN, f"run stopped: {self.fatal}"))
            members = [member for _, member in part]
            parent_gone = False

            async def perform() -> Outcome:
                nonlocal parent_gone
                try:
                    await self._client.change_members(
                        batch.relation, parent, members, remove=batch.remove
                    )
                except NotFound:
                    parent_gone = True
                    raise
                return Outcome(ChangeStatus.DONE)

            return Answer(await self._guarded(perform), divisible=not parent_gone)

        return send

    # -- shared -------------------------------------------------------------------------------

    async def _guarded(self, perform: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Run one request and turn every error into an outcome; stop the run on fatal ones.

        The request runs in a cancel scope that ``cancel_in_flight`` can cancel at shutdown; its
        outcome is then unknown and is settled by lookup when the next run starts.
        """
        with anyio.CancelScope() as scope:
            self._in_flight.add(scope)
            try:
                return await perform()
            except Rejected as exc:
                return Outcome(ChangeStatus.REJECTED, exc.message)
            except ApiError as exc:
                return Outcome(ChangeStatus.FAILED, str(exc))
            except (CredentialsRejected, CloudUnreachable, CloudContractBroken) as exc:
                if self.fatal is None:
                    self.fatal = exc
                self._on_stop()
                return Outcome(ChangeStatus.UNKNOWN, f"run stopped: {exc}")
            finally:
                self._in_flight.discard(scope)
        return Outcome(
            ChangeStatus.UNKNOWN, "cancelled at shutdown; settled when the next run starts"
        )

    def cancel_in_flight(self) -> None:
        """Give up on the requests still running (shutdown grace period over)."""
        for scope in list(self._in_flight):
            scope.cancel()

    async def _settle(
        self, results: Sequence[tuple[Change, Outcome]], *, attempted: bool = False
    ) -> None:
        await self._journal.settle(results)
        for change, outcome in results:
            if outcome.status is ChangeStatus.DONE and outcome.remote is not None:
                self._created[(change.kind, normalise_key(change.kind, change.object_key))] = (
                    outcome.remote.cwguid
                )
            if attempted and outcome.status is not ChangeStatus.UNKNOWN:
                self._guard.record(failed=outcome.status in FAILED_STATUSES)
            self._on_settled(change.kind, 1)
        if self._guard.tripped:
            self._on_stop()
