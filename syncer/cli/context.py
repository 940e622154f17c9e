"""What every command shares: the chosen configuration, and one way to run async work.

The settings (pydantic, SQLAlchemy's URL parser) and the logs (structlog, rich) are imported when
a command first reads its configuration, not with this module: ``syncer --help``, ``--version``
and shell completion, which read none, then cost about a seventh of the CPU.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn, TypeVar

import anyio
import click

from syncer.cli.failures import exit_for
from syncer.errors import ExitCode, SyncerError

if TYPE_CHECKING:
    from syncer.settings import Settings

T = TypeVar("T")


@dataclass
class CliContext:
    config_path: Path | None = None
    json_logs: bool = False
    """Whether this invocation's logs are JSON lines; then its closing error line is one too."""

    @cached_property
    def settings(self) -> Settings:
        from syncer import logs  # noqa: PLC0415 (imported on first use: see the module doc)
        from syncer.settings import (  # noqa: PLC0415
            deprecated_keys,
            load_settings,
            loose_secret_files,
        )

        settings = load_settings(self.config_path)
        self.configure_logs(settings.logging.level, settings.logging.format)
        log = logs.get_logger(__name__)
        for path in loose_secret_files(settings):
            log.warning(
                "secret file readable by group or others; chmod 600 it",
                file=str(path),
            )
        for old, new in deprecated_keys(settings):
            log.warning(f"{old} is deprecated; set {new} instead", key=old, new_key=new)
        return settings

    def configure_logs(
        self, level: str, output: Literal["auto", "console", "json"] = "auto"
    ) -> None:
        from syncer import logs  # noqa: PLC0415 (imported on first use: see the module doc)

        self.json_logs = logs.configure(level, output)


def current() -> CliContext:
    """This invocation's ``CliContext`` (one is made for a command invoked without the group)."""
    return click.get_current_context().ensure_object(CliContext)


def run(async_fn: Callable[[], Awaitable[int | ExitCode | None]]) -> NoReturn:
    """Run ``async_fn`` on asyncio and exit with its code; whatever ends it early exits with one
    line and its own code (``syncer.cli.failures``), never a traceback."""

    async def main() -> int | ExitCode | None:
        return await async_fn()

    try:
        code = anyio.run(main, backend="asyncio")
    except BaseException as exc:
        exit_for(exc, json_logs=current().json_logs)
    sys.exit(int(code or ExitCode.OK))


def settings_or_exit(ctx: click.Context) -> Settings:
    """The settings of this invocation; a configuration error exits 78 naming the key."""
    obj = ctx.ensure_object(CliContext)
    try:
        return obj.settings
    except SyncerError as exc:
        exit_for(exc, json_logs=obj.json_logs)


def pass_settings(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator: call the command with its ``Settings`` as first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: object, **kwargs: object) -> T:
        return fn(settings_or_exit(ctx), *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
