"""What a command imports is part of its cost: each ``syncer`` process pays it before any work,
and the suite starts a hundred of them. Alembic is for the commands that migrate or check the
revision, psycopg for PostgreSQL: ``plan``, ``apply`` and ``runs`` on SQLite load neither (about
a quarter of their start-up, 0.25 s of CPU each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

IMPORTED = """
import sys
import anyio
import syncer.cli.apply, syncer.cli.plan, syncer.cli.runs
from syncer.store import create_engine, read_connection

async def read(url):
    engine = create_engine(url)
    async with read_connection(engine) as conn:
        await conn.exec_driver_sql("SELECT 1")
    await engine.dispose()

anyio.run(read, sys.argv[1])
print(sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "psycopg"}))
"""


def _imported(code: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_plan_apply_and_runs_on_sqlite_load_neither_alembic_nor_psycopg(tmp_path: Path) -> None:
    assert _imported(IMPORTED, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}") == "[]\n"


def test_the_check_above_sees_a_migration_load_alembic(tmp_path: Path) -> None:
    """It can fail: a process that migrates has Alembic in ``sys.modules``."""
    migrating = IMPORTED.replace(
        "await engine.dispose()", "await engine.dispose()\n    import syncer.store.schema"
    )
    assert _imported(migrating, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}") == "['alembic']\n"
