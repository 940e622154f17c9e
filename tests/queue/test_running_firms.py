"""How a worker stops its running firms on SIGTERM, and what the queue does with each outcome."""

from __future__ import annotations

import signal

import anyio
import pytest

from syncer.apply.stopping import StopRequests
from syncer.errors import ExitCode
from syncer.queue.firmjob import LOCKED_RETRY_SECONDS, FirmJobAgain, FirmJobFailed, job_verdict
from syncer.queue.runner import FirmResult
from syncer.queue.stopping import RunningFirms

pytestmark = pytest.mark.anyio


async def test_a_firm_still_reading_cloud_is_cancelled_and_reported_interrupted() -> None:
    running = RunningFirms()
    started = anyio.Event()

    async def reading(_stops: StopRequests) -> FirmResult:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    async with anyio.create_task_group() as tg:
        results: list[FirmResult] = []

        async def job() -> None:
            results.append(await running.run(1, reading))

        tg.start_soon(job)
        await started.wait()
        running.stop_all(signal.SIGTERM)
    assert results == [FirmResult(143, None, "stopped by SIGTERM before sending")]


async def test_a_firm_executing_changes_is_told_to_stop_and_finishes_its_own_way() -> None:
    running = RunningFirms()
    subscribed = anyio.Event()
    told = anyio.Event()

    async def executing(stops: StopRequests) -> FirmResult:
        with stops.subscribed(told.set):
            subscribed.set()
            await told.wait()
        return FirmResult(143, 7, "stopped by SIGTERM")

    async with anyio.create_task_group() as tg:
        results: list[FirmResult] = []

        async def job() -> None:
            results.append(await running.run(1, executing))

        tg.start_soon(job)
        await subscribed.wait()
        running.stop_all(signal.SIGTERM)
    assert results == [FirmResult(143, 7, "stopped by SIGTERM")]


async def test_a_job_starting_after_the_signal_stops_at_once() -> None:
    running = RunningFirms()
    running.stop_all(signal.SIGINT)

    async def never(_stops: StopRequests) -> FirmResult:
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    result = await running.run(2, never)
    assert result.exit_code == 130


@pytest.mark.parametrize("code", [ExitCode.OK, 2, 3, 4])
def test_a_run_that_did_its_job_is_a_finished_job(code: int) -> None:
    assert job_verdict(FirmResult(code, 5)) == {"exit_code": code, "run_id": 5}


@pytest.mark.parametrize(("code", "retry_in"), [(143, 0), (130, 0), (75, LOCKED_RETRY_SECONDS)])
def test_an_interrupted_or_locked_run_goes_back_to_the_queue(code: int, retry_in: int) -> None:
    with pytest.raises(FirmJobAgain) as again:
        job_verdict(FirmResult(code, None, "stopped"))
    assert again.value.retry_in == retry_in


@pytest.mark.parametrize("code", [1, 69, 77, 78])
def test_a_failed_run_fails_the_job_with_its_message(code: int) -> None:
    with pytest.raises(FirmJobFailed, match="credentials rejected"):
        job_verdict(FirmResult(code, None, "credentials rejected"))
