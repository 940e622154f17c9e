"""What a command imports is part of its cost: each ``syncer`` process pays it before any work,
and the suite starts over a hundred of them. Alembic is for the commands that migrate or check
the revision, psycopg for PostgreSQL: ``plan``, ``apply`` and ``runs`` on SQLite load neither
(about a fifth of their start-up, 0.15-0.2 s of CPU each). ``runs`` reads a table: it loads
neither the apply engine nor aiohttp."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LOADED = """
import json
import sys
import anyio
import {modules}
from syncer.store import create_engine, read_connection

async def read(url):
    engine = create_engine(url)
    async with read_connection(engine) as conn:
        await conn.exec_driver_sql("SELECT 1")
    await engine.dispose()

anyio.run(read, sys.argv[1])
watched = {watched!r}
print(json.dumps(sorted(m for m in sys.modules if m in watched)))
"""


def _loaded(tmp_path: Path, modules: str, watched: set[str]) -> list[str]:
    """Which of ``watched`` a new process has loaded once it imported ``modules`` and read a
    SQLite database through the store."""
    code = LOADED.format(modules=modules, watched=watched)
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_plan_apply_and_runs_on_sqlite_load_neither_alembic_nor_psycopg(tmp_path: Path) -> None:
    commands = "syncer.cli.plan, syncer.cli.apply, syncer.cli.runs"
    assert _loaded(tmp_path, commands, {"alembic", "psycopg"}) == []


def test_runs_loads_neither_the_apply_engine_nor_aiohttp(tmp_path: Path) -> None:
    assert _loaded(tmp_path, "syncer.cli.runs", {"aiohttp", "syncer.apply.engine"}) == []


def test_the_checks_above_see_what_a_module_loads(tmp_path: Path) -> None:
    """They can fail: migrating loads Alembic, ``apply`` the engine and aiohttp."""
    watched = {"alembic", "aiohttp", "syncer.apply.engine"}
    assert _loaded(tmp_path, "syncer.store.schema, syncer.cli.apply", watched) == sorted(watched)
