"""SIGTERM in a worker: each running firm stops the way ``syncer apply`` stops.

Every running job has its own ``StopRequests``: a firm that is executing changes stops taking new
ones and lets requests in flight finish (the journal resumes the rest); a firm still reading
Cloud has nothing in flight, so it is cancelled at once. Either way the job ends as interrupted
and goes back to the queue for another worker.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

import anyio

from syncer.apply import StopRequests
from syncer.errors import Interrupted, Terminated
from syncer.queue.runner import FirmResult


class RunningFirms:
    """The stop handles of the jobs this worker is running."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._running: dict[int, tuple[StopRequests, anyio.CancelScope]] = {}

    async def run(
        self, job_id: int, work: Callable[[StopRequests], Awaitable[FirmResult]]
    ) -> FirmResult:
        """Run ``work`` as job ``job_id`` until it ends or a stop signal cancels it."""
        stops = StopRequests()
        with anyio.CancelScope() as scope:
            self._running[job_id] = (stops, scope)
            try:
                if self.received is not None:
                    _stop(stops, scope, self.received)
                return await work(stops)
            finally:
                del self._running[job_id]
        signum = self.received or signal.SIGTERM
        return FirmResult(128 + int(signum), None, f"stopped by {signum.name} before sending")

    def stop_all(self, signum: signal.Signals) -> None:
        """Stop every running job (and any job starting from now on)."""
        self.received = self.received or signum
        for stops, scope in list(self._running.values()):
            _stop(stops, scope, signum)


def _stop(stops: StopRequests, scope: anyio.CancelScope, signum: signal.Signals) -> None:
    try:
        stops.deliver(signum)
    except (Interrupted, Terminated):
        # ``deliver`` ends the command when nothing is executing: here, only this job.
        scope.cancel()
