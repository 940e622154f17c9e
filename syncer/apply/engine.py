"""``syncer apply``: plan afresh (or check a saved plan), then carry the plan out, journaled.

The order of a run: take the firm's lock (exit 75 if another run holds it); settle what an
interrupted run left open; read desired and Cloud state and plan; enter every change in the
journal; run the changes through the scheduler with at most ``max_in_flight`` requests at once
(the Cloud client's shared limiter sets the pace); then close the run row with its figures and
log one summary line. The exit code says what needs attention, most serious first: a fatal error
(77 credentials, 69 unreachable), a signal, a safety stop (4), rejected rows (3), else 0.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.api import CloudApi, learned_request_rate
from syncer.apply.guard import ErrorRateGuard
from syncer.apply.journal import ChangeStatus, Counts, Entry, Journal, totals_by_status
from syncer.apply.lock import RunLock
from syncer.apply.operations import Executor, body_of
from syncer.apply.progress import progress_for
from syncer.apply.recovery import recover
from syncer.apply.retry import RetryIndex
from syncer.apply.scheduler import Job, Scheduler
from syncer.apply.stopping import StopRequests
from syncer.apply.taskgroups import task_group
from syncer.apply.times import utc_now
from syncer.clock import Clock
from syncer.errors import ExitCode, SyncerError
from syncer.logs import get_logger
from syncer.model import OBJECT_KINDS
from syncer.plan.model import Blocked, Change, Plan
from syncer.plan.serialise import plan_from_json
from syncer.settings import Settings
from syncer.workflow import compute_plan_showing_progress, open_session

log = get_logger(__name__)

UNFINISHED = (ChangeStatus.REJECTED, ChangeStatus.DEFERRED, ChangeStatus.FAILED)
"""Statuses of changes that did not go through and make the run end with exit 3."""

STOP_GRACE_SECONDS = 5.0
"""After SIGINT/SIGTERM, how long requests in flight may take before they are cancelled."""


class StalePlan(SyncerError):
    """A saved plan no longer describes Cloud (exit 1): plan again and review the new one."""


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    plan_file: Path | None = None
    allow_deletes: bool = False
    max_in_flight: int | None = None


@dataclass(frozen=True, slots=True)
class ApplyResult:
    run_id: int
    exit_code: int
    status: str
    message: str | None
    counts: Counts


def with_max_in_flight(settings: Settings, max_in_flight: int | None) -> Settings:
    """``--max-in-flight`` overrides ``cloud.max_in_flight`` for this run."""
    if max_in_flight is None:
        return settings
    cloud = settings.cloud.model_copy(update={"max_in_flight": max_in_flight})
    return settings.model_copy(update={"cloud": cloud})


async def run_apply(
    settings: Settings, options: ApplyOptions, stops: StopRequests | None = None
) -> ApplyResult:
    """The whole of ``syncer apply`` for one firm."""
    chosen = with_max_in_flight(settings, options.max_in_flight)
    async with open_session(chosen) as session, RunLock(session.engine, session.firm).hold():
        await recover(session.engine, session.firm, session.client, session.clock)
        snapshot = await compute_plan_showing_progress(session)
        plan = snapshot.plan
        if options.plan_file is not None:
            plan = saved_plan(options.plan_file, current=plan)
        return await execute(
            plan,
            engine=session.engine,
            client=session.client,
            settings=session.settings,
            clock=session.clock,
            allow_deletes=options.allow_deletes,
            stops=stops,
        )


def saved_plan(path: Path, *, current: Plan) -> Plan:
    """The reviewed plan in ``path``, if it still describes the firm's Cloud state."""
    try:
        saved = plan_from_json(path.read_bytes())
    except OSError as exc:
        raise StalePlan(f"cannot read plan file {path}: {exc.strerror}") from None
    if saved.firm != current.firm:
        raise StalePlan(f"plan file {path} is for firm {saved.firm!r}, not {current.firm!r}")
    if saved.fingerprint != current.fingerprint:
        raise StalePlan(
            f"plan file {path} is stale: Cloud has changed since it was made "
            f"({saved.created_at:%Y-%m-%d %H:%M} UTC); run `syncer plan` again and review it"
        )
    return saved


async def execute(
    plan: Plan,
    *,
    engine: AsyncEngine,
    client: CloudApi,
    settings: Settings,
    clock: Clock,
    allow_deletes: bool,
    stops: StopRequests | None = None,
) -> ApplyResult:
    """Carry ``plan`` out (under the firm's lock); see the module docstring for the order.

    Takes the client as a ``CloudApi`` so the benchmark can drive the same engine with another.
    """
    firm = settings.cloud.firm
    stops = stops or StopRequests()
    journal = await Journal.begin(engine, firm, "apply", plan.fingerprint, clock)
    started = clock.monotonic()
    held = () if allow_deletes else plan.blocked
    released = [b.change for b in plan.blocked] if allow_deletes else []
    retry = await RetryIndex.load(engine, firm, utc_now(clock))
    entries = [*_entries([*plan.changes, *released], retry), *_held_entries(held)]
    await journal.enter(entries)
    await journal.adopt(plan.adoptions)
    todo = [entry.change for entry in entries if entry.status is ChangeStatus.PENDING]
    apply_settings = settings.apply
    guard = ErrorRateGuard(
        apply_settings.error_rate_threshold, apply_settings.error_rate_min_attempts
    )
    with progress_for("apply progress", clock) as progress:
        for kind, total in Counter(change.kind for change in todo).items():
            progress.add_total(kind, total)
        scheduler = Scheduler(settings.cloud.max_in_flight, client.write_target)
        executor = Executor(
            client, journal, guard, on_settled=progress.advance, on_stop=scheduler.stop
        )
        await _run_with_grace(scheduler, executor, executor.jobs(todo), stops)
    received = stops.received
    if scheduler.stopped:
        await journal.abandon_pending("not sent: the run stopped before reaching it")
    counts = await journal.counts()
    fatal = executor.fatal
    code, status, message = _verdict(
        fatal=fatal,
        received=received,
        guard=guard,
        held=held,
        by_status=totals_by_status(counts),
        invalid=len(plan.invalid),
    )
    figures = _figures(client, clock.monotonic() - started)
    await journal.close(status, code, {"counts": counts, "message": message, **figures})
    log.info(
        "apply finished",
        run_id=journal.run_id,
        firm=firm,
        status=status,
        exit_code=code,
        counts=counts,
        message=message,
        **figures,
    )
    if fatal is not None:
        raise fatal
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


def _entries(changes: Iterable[Change], retry: RetryIndex) -> list[Entry]:
    result: list[Entry] = []
    for change in changes:
        payload = body_of(change) if change.kind in OBJECT_KINDS else None
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


def _figures(client: CloudApi, duration: float) -> dict[str, object]:
    """Requests (all of the client's, reads included), 429s, 401s and the achieved request rate
    beside the rate the limiter learned, for the run row and the summary line."""
    stats = client.stats
    wire = client.wire_figures()
    return {
        "latency": dict(wire.latency),
        "pages_past_end": wire.pages_past_end,
        "requests": stats.requests,
        "throttled": stats.throttled,
        "unauthorized": stats.unauthorized,
        "learned_rate": learned_request_rate(client.limiter_stats),
        "achieved_rate": round(stats.requests / duration, 3) if duration > 0 else None,
    }
