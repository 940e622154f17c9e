"""Schema migrations: Alembic, run in code on syncer's own engines.

Migrations are shipped inside the package (``syncer.migrations``) and run programmatically, so
``syncer db upgrade`` works from any directory with no ``alembic.ini`` around. This module is
apart from ``store.db`` (engines and transactions) because Alembic costs a seventh of a command's
start-up: only what migrates or checks the revision (``db``, ``load``, ``queue``, the worker, the
demo) imports it, and ``plan``, ``apply`` and ``runs`` never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from syncer.store.db import DatabaseError, create_engine

MIGRATIONS_PACKAGE = "syncer.migrations"


@contextmanager
def _migration_errors() -> Iterator[None]:
    """An Alembic error (an unknown revision, say) as a one-line ``DatabaseError`` (exit 1)."""
    try:
        yield
    except CommandError as exc:
        raise DatabaseError(f"migration error: {exc}") from exc


def alembic_config(url: str) -> Config:
    """An Alembic configuration built in code: scripts from the package, URL from settings."""
    config = Config()
    config.set_main_option("script_location", str(files(MIGRATIONS_PACKAGE)))
    # ConfigParser interpolation would eat a '%' in a password; escape it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _with_migration_connection(url: str, action: Callable[..., Any], *args: Any) -> Any:
    engine = create_engine(url, foreign_keys=False, poolclass=NullPool)
    try:
        with _migration_errors():
            async with engine.begin() as conn:
                return await conn.run_sync(action, *args)
    finally:
        await engine.dispose()


def _run_command(conn: Connection, url: str, name: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = conn
    getattr(command, name)(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (in one transaction where possible)."""
    await _with_migration_connection(url, _run_command, url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` drops every table)."""
    await _with_migration_connection(url, _run_command, url, "downgrade", revision)


def _current_heads(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


async def current(url: str) -> tuple[str, ...]:
    """The revision(s) the database is at; empty when it was never migrated."""
    heads: tuple[str, ...] = await _with_migration_connection(url, _current_heads)
    return heads


async def require_current_schema(engine: AsyncEngine) -> None:
    """Refuse to work on a database that is not at the newest revision, saying what to run."""
    async with engine.connect() as conn:
        heads = await conn.run_sync(_current_heads)
    newest = head_revision()
    if heads != (newest,):
        at = ", ".join(heads) or "no revision (empty)"
        raise DatabaseError(
            f"the database is at {at} but this syncer needs revision {newest}; "
            "run 'syncer db upgrade' first"
        )


def head_revision() -> str:
    """The newest revision shipped with this version of syncer."""
    with _migration_errors():
        head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
