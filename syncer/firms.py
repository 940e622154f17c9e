"""Several firms in one process: run a per-firm job for each selected firm, concurrently.

Each firm is independent: its own API client, and so its own rate limiter and session pool (the
job builds them from ``Firm.settings``), its own lock and run journal. They share only the event
loop, so one slow firm (a small rate limit, a big migration) does not hold the others back.
A firm that fails with a ``SyncerError`` (bad secret, Cloud unreachable, safety stop...) does not
stop the others; the process then exits with the worst code of all firms (``combine``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import anyio
import structlog

from syncer.errors import ExitCode, SyncerError
from syncer.logs import get_logger
from syncer.settings import Firm

FirmJob = Callable[[Firm], Awaitable[int | ExitCode | None]]
"""The work for one firm (e.g. plan or apply with ``firm.settings``); returns its exit code."""

SEVERITY: Final[tuple[ExitCode, ...]] = (
    ExitCode.ERROR,
    ExitCode.CONFIG,
    ExitCode.USAGE,
    ExitCode.CREDENTIALS_REJECTED,
    ExitCode.CLOUD_CONTRACT,
    ExitCode.UNREACHABLE,
    ExitCode.LOCKED,
    ExitCode.SAFETY_STOP,
    ExitCode.ROWS_REJECTED,
    ExitCode.CHANGES_PENDING,
    ExitCode.OK,
)
"""Exit codes from worst to best: a run over several firms exits with the worst one.

Failures that need a person come first (a bug, a broken configuration, rejected credentials),
then conditions that may clear by themselves (Cloud unreachable, another run holding the lock),
then outcomes of a run that did its job (stopped by a guard, rows rejected, changes pending).
A code not listed here (e.g. 130 after an interrupt) counts as worse than all of them.
"""

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FirmOutcome:
    """How one firm's job ended; ``message`` is the error's text when it failed."""

    firm: str
    exit_code: int
    message: str | None = None


def combine(codes: Iterable[int]) -> int:
    """The worst of ``codes`` by ``SEVERITY``; no codes at all is ``0``."""

    return min(codes, key=_rank, default=int(ExitCode.OK))


def _rank(code: int) -> int:
    try:
        return SEVERITY.index(ExitCode(code))
    except ValueError:
        return -1


async def run_each(firms: Sequence[Firm], job: FirmJob) -> tuple[FirmOutcome, ...]:
    """Run ``job`` for every firm concurrently; one outcome per firm, in the order given.

    Every log line a job writes carries ``firm=<name>`` (structlog context variables are per
    task). A ``SyncerError`` ends that firm only; any other exception is a bug and propagates,
    cancelling the other firms' jobs, exactly as it would end a single-firm run.
    """
    outcomes: dict[str, FirmOutcome] = {}

    async def one(firm: Firm) -> None:
        with structlog.contextvars.bound_contextvars(firm=firm.name):
            try:
                code = await job(firm)
            except SyncerError as exc:
                _log.error("firm failed", exit_code=int(exc.exit_code), error=str(exc))
                outcomes[firm.name] = FirmOutcome(firm.name, int(exc.exit_code), str(exc))
            else:
                outcomes[firm.name] = FirmOutcome(firm.name, int(code or ExitCode.OK))

    async with anyio.create_task_group() as group:
        for firm in firms:
            group.start_soon(one, firm, name=f"firm {firm.name}")
    return tuple(outcomes[firm.name] for firm in firms)


async def run_firms(firms: Sequence[Firm], job: FirmJob) -> int:
    """Run ``job`` for each firm and return the combined exit code.

    With a single firm the job runs as it is, so its ``SyncerError`` reaches the CLI unchanged
    (message and exit code) and a one-firm configuration behaves exactly like the ``[cloud]`` form.
    """
    if len(firms) == 1:
        return int(await job(firms[0]) or ExitCode.OK)
    outcomes = await run_each(firms, job)
    for outcome in outcomes:
        _log.info("firm finished", firm=outcome.firm, exit_code=outcome.exit_code)
    return combine(outcome.exit_code for outcome in outcomes)
