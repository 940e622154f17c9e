"""Rejected credentials while Cloud is read concurrently: exit 77 with one line, no traceback.

Every reader waiting for the token is refused together; the command must still end with the
one error, not a group of them printed as a traceback.
"""

from __future__ import annotations

import sys

import anyio
import pytest

from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from tests.apply.support import env_for

pytestmark = pytest.mark.anyio


async def test_plan_with_a_wrong_secret_exits_77_in_one_line(
    simulator: RunningSimulator, migrated_sqlite_url: str
) -> None:
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", "plan"],
        env=env_for(simulator, migrated_sqlite_url, secret="wrong-secret"),
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.CREDENTIALS_REJECTED, stderr
    assert "Traceback" not in stderr
    assert "wrong-secret" not in stderr
    assert "refused the API client's credentials" in stderr.splitlines()[-1]
