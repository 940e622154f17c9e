"""Running a job per firm: concurrently, isolated failures, the worst exit code wins."""

from __future__ import annotations

import anyio
import pytest

from syncer.errors import CredentialsRejected, ExitCode
from syncer.firms import SEVERITY, FirmOutcome, combine, run_each, run_firms
from syncer.settings import Firm, Settings


def firms(*names: str) -> tuple[Firm, ...]:
    return tuple(Firm(name, Settings()) for name in names)


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], 0),
        ([0, 0], 0),
        ([0, 2, 3], 3),
        ([3, 4, 0], 4),
        ([4, 69, 75], 69),
        ([77, 69], 77),
        ([1, 77, 78], 1),
        ([0, 130], 130),  # unknown codes (an interrupt) count as worst
    ],
)
def test_the_worst_exit_code_wins(codes: list[int], worst: int) -> None:
    assert combine(codes) == worst


def test_every_exit_code_of_the_contract_has_a_rank() -> None:
    assert set(SEVERITY) == set(ExitCode)


@pytest.mark.anyio
async def test_firms_run_concurrently_and_one_failure_does_not_stop_the_others() -> None:
    both_started = anyio.Event()
    started: list[str] = []

    async def job(firm: Firm) -> int:
        started.append(firm.name)
        if len(started) == 2:
            both_started.set()
        with anyio.fail_after(5):  # only reachable if both jobs are in flight at once
            await both_started.wait()
        if firm.name == "beta":
            raise CredentialsRejected("auth/token refused the client id and secret")
        return ExitCode.ROWS_REJECTED

    outcomes = await run_each(firms("acme", "beta"), job)
    assert outcomes == (
        FirmOutcome("acme", 3),
        FirmOutcome("beta", 77, "auth/token refused the client id and secret"),
    )
    assert await run_firms(firms("acme", "beta"), job) == 77


@pytest.mark.anyio
async def test_a_single_firm_behaves_like_a_single_firm_run() -> None:
    async def job(firm: Firm) -> int:
        raise CredentialsRejected("refused")

    with pytest.raises(CredentialsRejected):
        await run_firms(firms("solo"), job)
