"""How anything that ends a command becomes one line on stderr and an exit code.

A ``SyncerError`` carries its code and a message written for the user; task groups may have
wrapped it in (nested) exception groups, so it is looked for inside them. Anything else is a bug:
it still ends in one line and exit 1, and its traceback is written only when the log level is
``debug`` (``SYNCER_LOGGING__LEVEL=debug``). Every line is masked: an error may quote a body that
echoed the secret or a token.

The line is ``syncer: <message>``; when the invocation's logs are JSON lines it is a JSON event
instead (``{"event": "exit", "message": ..., "exit_code": ...}``), so a log read by a machine holds
nothing but JSON. A failure found before the configuration is read (a usage or configuration
error) has no log format yet and stays plain text.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

import click

from syncer.errors import ExitCode, syncer_error_in
from syncer.masking import mask

DEBUG_ENV = "SYNCER_LOGGING__LEVEL"
EXIT_EVENT = "exit"
"""The ``event`` of the closing line when logs are JSON lines."""


def exit_for(exc: BaseException, *, json_logs: bool = False) -> NoReturn:
    """Write one line describing ``exc`` and exit with its code; ``json_logs``: the logs of this
    invocation are JSON lines, so the line is a JSON event too."""
    if isinstance(exc, SystemExit):
        raise exc
    error = syncer_error_in(exc)
    if error is not None:
        fail(str(error), error.exit_code, json_logs=json_logs)
    if _holds(exc, KeyboardInterrupt):
        fail("interrupted", ExitCode.INTERRUPTED, json_logs=json_logs)
    if _debugging():
        traceback.print_exception(exc, file=sys.stderr)
    fail(
        f"unexpected error, please report it: {type(exc).__name__}: {exc} "
        f"({DEBUG_ENV}=debug shows where)",
        ExitCode.ERROR,
        json_logs=json_logs,
    )


def fail(message: str, code: int, *, json_logs: bool = False) -> NoReturn:
    """Write the closing line and exit with ``code``."""
    say(message, code, json_logs=json_logs)
    sys.exit(int(code))


def say(message: str, code: int, *, json_logs: bool = False) -> None:
    """Write a closing line, masked and on one line, for a run ending in ``code`` (a run that
    finished with rejected rows says so too, without stopping its sibling firms)."""
    text = mask(" ".join(message.split()))
    if json_logs:
        # Logs configured as JSON lines imported syncer.logs already; a plain-text failure (a
        # usage error, say) needs neither it nor structlog (``syncer.cli.context``'s doc).
        from syncer import logs  # noqa: PLC0415

        logs.get_logger(__name__).error(EXIT_EVENT, message=text, exit_code=int(code))
    else:
        click.echo(f"syncer: {text}", err=True)


def _holds(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_holds(inner, kind) for inner in exc.exceptions)
    return False


def _debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").lower() == "debug"
