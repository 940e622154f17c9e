"""Alembic environment: async engines, batch mode on SQLite, syncer's metadata as the target.

syncer runs migrations in code (``syncer.store.schema.upgrade``) and hands over an open
connection in ``config.attributes["connection"]``; the ``alembic`` command line (for writing new
revisions) gets none and opens its own async engine from ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from syncer.store.db import create_engine
from syncer.store.tables import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url, foreign_keys=False, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    """``alembic upgrade --sql``: print the DDL instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_migrations(given)
else:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not configured"
    asyncio.run(_run_with_own_engine(url))
