"""What every command shares: the chosen configuration, and one way to run async work."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NoReturn, TypeVar

import anyio
import click

from syncer import logs
from syncer.errors import ExitCode, SyncerError
from syncer.settings import Settings, load_settings

T = TypeVar("T")


@dataclass
class CliContext:
    config_path: Path | None

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(self.config_path)
        logs.configure(settings.logging.level, settings.logging.format)
        return settings


def run(async_fn: Callable[[], Awaitable[int | ExitCode | None]]) -> NoReturn:
    """Run ``async_fn`` on asyncio and exit with its code; a ``SyncerError`` exits with its own.

    The message of a ``SyncerError`` is written for the user, so it is printed as it is, without a
    traceback; anything else is a bug and keeps its traceback.
    """

    async def main() -> int | ExitCode | None:
        return await async_fn()

    try:
        code = anyio.run(main, backend="asyncio")
    except SyncerError as exc:
        click.echo(f"syncer: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("syncer: interrupted", err=True)
        sys.exit(130)
    sys.exit(int(code or ExitCode.OK))


def settings_or_exit(ctx: click.Context) -> Settings:
    """The settings of this invocation; a configuration error exits 78 naming the key."""
    obj = ctx.find_object(CliContext)
    assert obj is not None
    try:
        return obj.settings
    except SyncerError as exc:
        click.echo(f"syncer: {exc}", err=True)
        sys.exit(int(exc.exit_code))


def pass_settings(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator: call the command with its ``Settings`` as first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: object, **kwargs: object) -> T:
        return fn(settings_or_exit(ctx), *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
