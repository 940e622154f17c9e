"""Carry a plan out, journaled: ``execute(plan, ...)``.

``usecases.apply_firm`` takes the firm's lock, settles what an interrupted run left open and
plans; this module only carries the plan out: enter every change in the journal; run the changes
through the scheduler with at most ``max_in_flight`` requests at once (the Cloud client's shared
limiter sets the pace); then close the run row with its figures and log one summary line. The
exit code says what needs attention, most serious first: a fatal error (77 credentials, 69
unreachable), a signal, a safety stop (4), rejected rows (3), else 0.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.api import CloudApi, learned_request_rate
from syncer.apply.backoff import BackoffIndex
from syncer.apply.error_rate import ErrorRateGuard
from syncer.apply.heap import frozen_heap
from syncer.apply.journal import Counts, Entry, Journal
from syncer.apply.operations import Executor, body_of
from syncer.apply.outcome import ChangeStatus
from syncer.apply.scheduler import Job, Scheduler
from syncer.apply.stopping import StopRequests
from syncer.clock import Clock, utc_now
from syncer.concurrency import task_group
from syncer.errors import ExitCode, SyncerError
from syncer.history import totals_by_status
from syncer.logs import get_logger
from syncer.model import RELATION_KINDS
from syncer.plan import Blocked, Change, Plan
from syncer.progress import ProgressFactory
from syncer.settings import Settings

log = get_logger(__name__)

UNFINISHED = (ChangeStatus.REJECTED, ChangeStatus.DEFERRED, ChangeStatus.FAILED)
"""Statuses of changes that did not go through and make the run end with exit 3."""

STOP_GRACE_SECONDS = 5.0
"""After SIGINT/SIGTERM, how long requests in flight may take before they are cancelled."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    run_id: int
    exit_code: int
    status: str
    message: str | None
    counts: Counts


@frozen_heap  # the whole run, entering the journal included (a full pass came while it entered)
async def execute(
    plan: Plan,
    *,
    engine: AsyncEngine,
    client: CloudApi,
    settings: Settings,
    clock: Clock,
    allow_deletes: bool,
    progress: ProgressFactory,
    stops: StopRequests | None = None,
) -> ApplyResult:
    """Carry ``plan`` out (under the firm's lock); see the module docstring for the order.

    Takes the client as a ``CloudApi`` so the benchmark can drive the same engine with another.
    """
    firm = settings.cloud.firm
    stops = stops or StopRequests()
    plan_requests = client.stats.requests  # recovery lookups and the reads the plan came from
    journal = await Journal.begin(engine, firm, "apply", plan.fingerprint, clock)
    started = clock.monotonic()
    held = () if allow_deletes else plan.blocked
    entries = await _enter_plan(journal, plan, clock, allow_deletes=allow_deletes)
    await journal.adopt(plan.adoptions)
    todo = [entry.change for entry in entries if entry.status is ChangeStatus.PENDING]
    guard = ErrorRateGuard.from_settings(settings.apply)
    with progress("apply progress", clock) as sink:
        for kind, total in Counter(change.kind for change in todo).items():
            sink.add_total(kind, total)
        scheduler = Scheduler(settings.cloud.max_in_flight, client.write_target)
        executor = Executor(client, journal, guard, on_settled=sink.advance, on_stop=scheduler.stop)
        await _run_with_grace(scheduler, executor, executor.jobs(todo), stops)
    received = stops.received
    if scheduler.stopped:
        await journal.abandon_pending("not sent: the run stopped before reaching it")
    counts = await journal.counts()
    code, status, message = _verdict(
        fatal=executor.fatal,
        received=received,
        guard=guard,
        held=held,
        by_status=totals_by_status(counts),
        invalid=len(plan.invalid),
    )
    figures = _figures(client, clock.monotonic() - started, plan_requests)
    await journal.close(status, code, {"counts": counts, "message": message, **figures})
    log.info(
        "apply finished",
        run_id=journal.run_id,
        firm=firm,
        status=status,
        exit_code=code,
        counts=counts,
        message=message,
        apply_requests=client.stats.requests - plan_requests,
        **figures,
    )
    if executor.fatal is not None:
        raise executor.fatal
    return ApplyResult(journal.run_id, code, status, message, counts)


async def _run_with_grace(
    scheduler: Scheduler, executor: Executor, jobs: Sequence[Job], stops: StopRequests
) -> None:
    """Run the jobs; on a stop signal take no new work, and cancel (and record as unknown) the
    requests still running after ``STOP_GRACE_SECONDS``: a create waiting for its turn under a
    slow rate limit must not hold the shutdown up for minutes."""
    signalled = anyio.Event()

    def stop() -> None:
        scheduler.stop()
        signalled.set()

    async def grace() -> None:
        await signalled.wait()
        await anyio.sleep(STOP_GRACE_SECONDS)
        executor.cancel_in_flight()

    async with task_group() as tg:
        tg.start_soon(grace)
        with stops.subscribed(stop):
            await scheduler.run(jobs)
        tg.cancel_scope.cancel()


async def _enter_plan(
    journal: Journal, plan: Plan, clock: Clock, *, allow_deletes: bool
) -> list[Entry]:
    """Enter every change of the plan in the journal, and return the entries: pending,
    deferred by the back-off index, or blocked by the safety threshold (unless
    ``--allow-deletes`` released the retirements). The journal learns which keys have a
    failure row (``BackoffIndex.failing``)."""
    held = () if allow_deletes else plan.blocked
    released = [b.change for b in plan.blocked] if allow_deletes else []
    backoff = await BackoffIndex.load(journal.engine, journal.firm, utc_now(clock))
    entries = [*_entries([*plan.changes, *released], backoff), *_held_entries(held)]
    await journal.enter(entries, failing=backoff.failing)
    return entries


def _entries(changes: Iterable[Change], retry: BackoffIndex) -> list[Entry]:
    result: list[Entry] = []
    for change in changes:
        payload = body_of(change) if change.kind not in RELATION_KINDS else None
        deferral = retry.deferral(change, payload)
        if deferral is None:
            result.append(Entry(change, ChangeStatus.PENDING, payload=payload))
        else:
            message = (
                f"rejected {deferral.failures} time(s) with the same values "
                f"({deferral.last_error}); next attempt after "
                f"{deferral.next_attempt_at:%Y-%m-%d %H:%M} UTC, or sooner if the row changes"
            )
            result.append(Entry(change, ChangeStatus.DEFERRED, message, payload))
    return result


def _held_entries(held: Iterable[Blocked]) -> list[Entry]:
    return [Entry(b.change, ChangeStatus.BLOCKED, b.reason) for b in held]


def _verdict(
    *,
    fatal: SyncerError | None,
    received: signal.Signals | None,
    guard: ErrorRateGuard,
    held: Sequence[Blocked],
    by_status: Counter[str],
    invalid: int,
) -> tuple[int, str, str | None]:
    """(exit code, run status, message), the most serious condition first."""
    if fatal is not None:
        return int(fatal.exit_code), "failed", str(fatal)
    if received is not None:
        return 128 + int(received), "interrupted", f"stopped by {received.name}"
    if guard.tripped:
        return int(ExitCode.SAFETY_STOP), "stopped", guard.describe()
    if held:
        return int(ExitCode.SAFETY_STOP), "blocked", describe_held(held)
    parts = [f"{by_status[str(s)]} {s}" for s in UNFINISHED if by_status[str(s)]]
    if invalid:
        parts.append(f"{invalid} invalid desired row(s) never sent (listed by `syncer plan`)")
    if parts:
        message = (
            f"finished, but not everything went through: {', '.join(parts)}; "
            "see `syncer runs` and the journal (syncer_changes) for the API's messages"
        )
        return int(ExitCode.ROWS_REJECTED), "rejected", message
    return int(ExitCode.OK), "succeeded", None


def describe_held(held: Sequence[Blocked]) -> str:
    """How many retirements were held back and why, grouped by reason."""
    reasons = Counter((b.change.kind, b.reason) for b in held)
    why = "; ".join(f"{kind}: {n} ({reason})" for (kind, reason), n in sorted(reasons.items()))
    return (
        f"{len(held)} retirement(s) blocked by the safety threshold were not sent: {why}. "
        "The rest of the plan was applied; rerun with --allow-deletes to release them"
    )


def _figures(client: CloudApi, duration: float, plan_requests: int) -> dict[str, object]:
    """Requests (all of the client's, reads included; ``plan_requests`` of them made before
    applying), 429s, 401s and the achieved request rate beside the rate the limiter learned, for
    the run row and the summary line. The achieved rate is apply's own: the requests sent while
    applying over the time spent applying (the reads before it took their own time)."""
    stats = client.stats
    wire = client.wire_figures()
    applied = stats.requests - plan_requests
    return {
        "latency": dict(wire.latency),
        "pages_past_end": wire.pages_past_end,
        "requests": stats.requests,
        "plan_requests": plan_requests,
        "throttled": stats.throttled,
        "unauthorized": stats.unauthorized,
        "learned_rate": learned_request_rate(client.limiter_stats),
        "achieved_rate": round(applied / duration, 3) if duration > 0 else None,
    }
