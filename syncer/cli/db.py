"""``syncer db``: create and migrate the database schema (desired-state and bookkeeping tables)."""

from __future__ import annotations

import click

from syncer.cli.context import pass_settings, run
from syncer.settings import Settings
from syncer.store import db, schema


@click.group(name="db")
def command() -> None:
    """Create or migrate syncer's tables in the configured database."""


@command.command()
@click.argument("revision", default="head")
@pass_settings
def upgrade(settings: Settings, revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest, 'head')."""

    async def go() -> None:
        async with db.database_errors():
            await schema.upgrade(settings.database.url, revision)
            heads = await schema.current(settings.database.url)
        click.echo(f"database is at revision {', '.join(heads) or 'base'}")

    run(go)


@command.command()
@click.argument("revision")
@pass_settings
def downgrade(settings: Settings, revision: str) -> None:
    """Migrate the database down to REVISION ('base' drops every syncer table and its data)."""

    async def go() -> None:
        async with db.database_errors():
            await schema.downgrade(settings.database.url, revision)
            heads = await schema.current(settings.database.url)
        click.echo(f"database is at revision {', '.join(heads) or 'base'}")

    run(go)


@command.command()
@pass_settings
def current(settings: Settings) -> None:
    """Show the database's revision and whether it is up to date."""

    async def go() -> None:
        async with db.database_errors():
            heads = await schema.current(settings.database.url)
        newest = schema.head_revision()
        state = "up to date" if heads == (newest,) else f"newest is {newest}; run 'db upgrade'"
        click.echo(f"{', '.join(heads) or 'base'} ({state})")

    run(go)
