"""How anything that ends a command becomes one line on stderr and an exit code.

A ``SyncerError`` carries its code and a message written for the user; task groups may have
wrapped it in (nested) exception groups, so it is looked for inside them. Anything else is a bug:
it still ends in one line and exit 1, and its traceback is written only when the log level is
``debug`` (``SYNCER_LOGGING__LEVEL=debug``). Every line is masked: an error may quote a body that
echoed the secret or a token.
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


def exit_for(exc: BaseException) -> NoReturn:
    """Write one line describing ``exc`` and exit with its code."""
    if isinstance(exc, SystemExit):
        raise exc
    error = syncer_error_in(exc)
    if error is not None:
        fail(str(error), error.exit_code)
    if _holds(exc, KeyboardInterrupt):
        fail("interrupted", ExitCode.INTERRUPTED)
    if _debugging():
        traceback.print_exception(exc, file=sys.stderr)
    fail(
        f"unexpected error, please report it: {type(exc).__name__}: {exc} "
        f"({DEBUG_ENV}=debug shows where)",
        ExitCode.ERROR,
    )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"syncer: {mask(' '.join(message.split()))}", err=True)
    sys.exit(int(code))


def _holds(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_holds(inner, kind) for inner in exc.exceptions)
    return False


def _debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "").lower() == "debug"
