"""The one adapter between a queued job and the firm use case (plan or apply one firm).

Everything the queue knows about running a firm goes through ``run_firm``, so pointing the queue
at another entry point (e.g. a use-case module's ``apply_firm``/``plan_firm``) is an edit here only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from syncer.apply.engine import ApplyOptions, run_apply
from syncer.apply.stopping import StopRequests
from syncer.errors import ExitCode, SyncerError
from syncer.settings import Firm
from syncer.store.db import database_errors
from syncer.workflow import compute_plan, open_session


@dataclass(frozen=True, slots=True)
class FirmResult:
    """How a firm's run ended: its exit code, its ``syncer_runs`` row (apply) and a message."""

    exit_code: int
    run_id: int | None = None
    message: str | None = None


async def _apply(firm: Firm, stops: StopRequests) -> FirmResult:
    result = await run_apply(firm.settings, ApplyOptions(), stops)
    return FirmResult(result.exit_code, result.run_id, result.message)


async def _plan(firm: Firm, _stops: StopRequests) -> FirmResult:
    async with open_session(firm.settings) as session:
        plan = (await compute_plan(session)).plan
    pending = len(plan.changes) + len(plan.blocked)
    code = ExitCode.CHANGES_PENDING if plan.has_changes else ExitCode.OK
    return FirmResult(int(code), None, f"{pending} change(s) pending")


ACTIONS: Final[Mapping[str, Callable[[Firm, StopRequests], Awaitable[FirmResult]]]] = {
    "apply": _apply,
    "plan": _plan,
}
"""What a job can do to a firm; ``syncer queue`` offers exactly these."""


async def run_firm(firm: Firm, action: str, stops: StopRequests) -> FirmResult:
    """Run ``action`` for ``firm``; a ``SyncerError`` becomes its exit code and message.

    The error may arrive inside an exception group (the Cloud reader reads kinds in a task
    group): a group of nothing but ``SyncerError`` ends the firm as its first error would; a
    group holding anything else is a bug and propagates.
    """
    try:
        async with database_errors():
            return await ACTIONS[action](firm, stops)
    except SyncerError as exc:
        return _failed(exc)
    except BaseExceptionGroup as group:
        errors, others = group.split(SyncerError)
        if errors is None or others is not None:
            raise
        return _failed(_first(errors))


def _failed(error: SyncerError) -> FirmResult:
    return FirmResult(int(error.exit_code), None, str(error))


def _first(group: BaseExceptionGroup[SyncerError]) -> SyncerError:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
