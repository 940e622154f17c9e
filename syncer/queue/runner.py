"""The one adapter between a queued job and the firm use case (plan or apply one firm).

Everything the queue knows about running a firm goes through ``run_firm``, which calls the same
use cases as ``syncer plan`` and ``syncer apply`` (``syncer.usecases``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from syncer.apply import StopRequests
from syncer.cloud import SharedHttp
from syncer.errors import ExitCode, syncer_error_in
from syncer.progress import quiet
from syncer.settings import Firm
from syncer.store import SharedEngines, database_errors
from syncer.usecases import ApplyOptions, apply_firm, plan_firm


@dataclass(frozen=True, slots=True)
class FirmResult:
    """How a firm's run ended: its exit code, its ``syncer_runs`` row (apply) and a message."""

    exit_code: int
    run_id: int | None = None
    message: str | None = None


async def _apply(
    firm: Firm, stops: StopRequests, shared: SharedEngines | None, http: SharedHttp | None
) -> FirmResult:
    result = await apply_firm(firm.settings, ApplyOptions(), stops, shared=shared, http=http)
    return FirmResult(result.exit_code, result.run_id, result.message)


async def _plan(
    firm: Firm, _stops: StopRequests, shared: SharedEngines | None, http: SharedHttp | None
) -> FirmResult:
    plan = (await plan_firm(firm.settings, progress=quiet, shared=shared, http=http)).plan
    pending = len(plan.changes) + len(plan.blocked)
    code = ExitCode.CHANGES_PENDING if plan.has_changes else ExitCode.OK
    return FirmResult(int(code), None, f"{pending} change(s) pending")


Action = Callable[
    [Firm, StopRequests, SharedEngines | None, SharedHttp | None], Awaitable[FirmResult]
]

ACTIONS: Final[Mapping[str, Action]] = {
    "apply": _apply,
    "plan": _plan,
}
"""How a job runs each of ``syncer.queue.app.FIRM_ACTIONS``."""


async def run_firm(
    firm: Firm,
    action: str,
    stops: StopRequests,
    shared: SharedEngines | None = None,
    http: SharedHttp | None = None,
) -> FirmResult:
    """Run ``action`` for ``firm``; a ``SyncerError`` becomes its exit code and message.

    ``shared``: the worker's engines, one per database URL for all the firms it runs; ``http``:
    its aiohttp sessions, one per API origin.

    The error may arrive inside an exception group (the Cloud reader reads kinds in a task
    group): the firm ends as the error found in it would end a command; a group holding no
    ``SyncerError`` is a bug and propagates.
    """
    try:
        async with database_errors():
            return await ACTIONS[action](firm, stops, shared, http)
    except Exception as exc:
        error = syncer_error_in(exc)
        if error is None:
            raise
        return FirmResult(int(error.exit_code), None, str(error))
