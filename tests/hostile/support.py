"""Running the real ``syncer`` command against the hostile server, and what to check after it."""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio

from tests.closing import closing_lines
from tests.hostile.server import BODY_CAP, CLIENT_ID, PAGE_SIZE, SECRET, TOKEN, HostileServer

FAST_FAILURE = {
    "SYNCER_CLOUD__PAGE_SIZE": str(PAGE_SIZE),
    "SYNCER_CLOUD__MAX_RETRIES": "1",
    "SYNCER_CLOUD__MAX_RESPONSE_BYTES": str(BODY_CAP),
    "SYNCER_CLOUD__MAX_THROTTLED_SECONDS": "0.5",
    "SYNCER_CLOUD__RETRY_AFTER_CAP_SECONDS": "0.2",
}
"""Bounded waits made small, so each case ends in about a second."""


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """What syncer itself said on stderr: its closing line's message, in either form."""
        return [closing.message for closing in closing_lines(self.stderr)]

    def assert_one_clear_line(self, *fragments: str) -> None:
        """One closing line holding ``fragments``: the JSON ``exit`` event with the process's
        exit code once the logs are JSON lines (``env_for`` asks for them), plain text only
        where the configuration was not read and nothing was logged."""
        assert "Traceback" not in self.stderr, self.stderr
        closings = closing_lines(self.stderr)
        assert len(closings) == 1, self.stderr
        if closings[0].exit_code is None:  # plain text: only where nothing was logged as JSON
            assert not any(line.startswith("{") for line in self.stderr.splitlines()), self.stderr
        else:
            assert closings[0].exit_code == self.code, self.stderr
        for fragment in fragments:
            assert fragment in closings[0].message, closings[0].message

    def assert_no_secret(self) -> None:
        for text in (self.stdout, self.stderr):
            assert SECRET not in text
            assert TOKEN not in text


def base_env(**values: str) -> dict[str, str]:
    """The test process's environment without any ``SYNCER_`` setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(values)
    return env


def env_for(server: HostileServer, url: str, **values: str) -> dict[str, str]:
    """Aimed at ``server`` and ``url``; ``values`` override any setting."""
    aimed = {
        "SYNCER_DATABASE__URL": url,
        "SYNCER_CLOUD__FIRM": server.firm,
        "SYNCER_CLOUD__BASE_URL": server.base_url,
        "SYNCER_CLOUD__CLIENT_ID": CLIENT_ID,
        "SYNCER_CLOUD__CLIENT_SECRET": SECRET,
        "SYNCER_LOGGING__FORMAT": "json",
        **FAST_FAILURE,
    }
    return base_env(**(aimed | values))


async def run_syncer(env: dict[str, str], *args: str, cwd: Path | None = None) -> Outcome:
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", *args], env=env, cwd=cwd, check=False
    )
    return Outcome(result.returncode, result.stdout.decode(), result.stderr.decode())


def table_text(url: str) -> dict[str, str]:
    """Every table of the SQLite database at ``url``, each as the text of all its rows."""
    path = url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: "\n".join(map(str, conn.execute(f'SELECT * FROM "{name}"')))  # noqa: S608
            for name in names
        }


def assert_no_secret_stored(url: str) -> None:
    for name, text in table_text(url).items():
        assert SECRET not in text, name
        assert TOKEN not in text, name
