"""The real ``syncer`` command, run as a separate process the way cron or an operator runs it.

Guide::

    config = write_config(tmp_path, simulator, url)        # [database] + [cloud], secret in a file
    syncer = Syncer(config, secrets=[simulator.client_secret])
    done = await syncer("apply", "--metrics-file", str(tmp_path / "syncer.prom"))
    assert done.code == ExitCode.OK
    done.event("apply finished")["exit_code"]               # a JSON log line, parsed

Every call asserts what the README promises of any run: no traceback on stderr, and no secret in
anything the command printed. The environment is the test process's minus every ``SYNCER_*``
variable, and nothing forces the log format: stderr is a pipe, so ``logging.format = "auto"`` must
choose JSON lines by itself, as it does under cron.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from syncer.simulator import RunningSimulator
from tests.closing import PLAIN_PREFIX

SYNCER = Path(sys.executable).with_name("syncer")
"""The console script installed beside this interpreter, as in the README's cron line."""


@dataclass(frozen=True, slots=True)
class Finished:
    """What one ``syncer`` process left behind."""

    code: int
    stdout: str
    stderr: str

    def log_lines(self) -> list[dict[str, Any]]:
        """The log's JSON lines, parsed: every line, the closing error line (the JSON ``exit``
        event) included. Only a failure before the configuration is read, which logs nothing
        else, ends in a plain-text ``syncer: ...`` line; it is left out."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return [json.loads(line) for line in lines if not line.startswith(PLAIN_PREFIX)]

    def event(self, name: str) -> dict[str, Any]:
        """The one JSON log line whose ``event`` is ``name``."""
        found = [line for line in self.log_lines() if line.get("event") == name]
        assert len(found) == 1, f"expected one {name!r} line in:\n{self.stderr}"
        return found[0]


@dataclass(frozen=True)
class Syncer:
    """Runs ``syncer --config CONFIG ...`` in the configuration's folder, with ``env`` added to a
    clean environment; ``secrets`` must appear in nothing it prints."""

    config: Path
    secrets: Iterable[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    async def __call__(self, *args: str) -> Finished:
        return await self.shell([str(SYNCER), "--config", str(self.config), *args])

    async def shell(self, command: str | list[str]) -> Finished:
        """Run ``command`` (a shell line, as cron does, or an argument list) in the same way."""
        process = await anyio.run_process(
            command, env=environment(self.env), cwd=self.config.parent, check=False
        )
        done = Finished(process.returncode, process.stdout.decode(), process.stderr.decode())
        assert_clean(done.stdout + done.stderr, self.secrets)
        return done


def environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any ``SYNCER_*`` variable, plus ``extra``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    return {**clean, **extra}


def assert_clean(output: str, secrets: Iterable[str]) -> None:
    """What the README promises of anything syncer writes: no traceback, no secret."""
    assert "Traceback" not in output, output
    for secret in secrets:
        assert secret not in output, "a secret was printed"


def cloud_section(sim: RunningSimulator, secret_file: Path, **extra: object) -> str:
    """A ``[cloud]`` table body aimed at ``sim``; the secret is read from ``secret_file``."""
    lines = {
        "firm": sim.firm,
        "base_url": sim.base_url,
        "client_id": sim.client_id,
        "client_secret_file": str(secret_file),
        **extra,
    }
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in lines.items())


def write_secret(folder: Path, secret: str, name: str = "client-secret") -> Path:
    """A secret file only its owner can read, as the README asks."""
    path = folder / name
    path.write_text(secret, encoding="utf-8")
    path.chmod(0o600)
    return path


def write_config(
    folder: Path,
    sim: RunningSimulator,
    url: str,
    *,
    secret: str | None = None,
    extra: str = "",
    **cloud: object,
) -> Path:
    """``syncer.toml`` in ``folder``: the database at ``url``, one firm at ``sim`` (with the
    simulator's own secret unless ``secret`` is given), then ``extra`` TOML appended."""
    secret_file = write_secret(folder, sim.client_secret if secret is None else secret)
    path = folder / "syncer.toml"
    path.write_text(
        f"[database]\nurl = {json.dumps(url)}\n\n[cloud]\n"
        f"{cloud_section(sim, secret_file, **cloud)}{extra}",
        encoding="utf-8",
    )
    return path
