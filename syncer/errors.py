"""Errors that end a command, each carrying the exit code of the public contract.

docs/architecture.md §7 fixes the codes; keeping them on the exception types means a command
never has to translate, and the CLI has exactly one place that turns an error into an exit.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES_PENDING = 2
    ROWS_REJECTED = 3
    SAFETY_STOP = 4
    USAGE = 64
    UNREACHABLE = 69
    LOCKED = 75
    CLOUD_CONTRACT = 76
    CREDENTIALS_REJECTED = 77
    CONFIG = 78
    INTERRUPTED = 130
    TERMINATED = 143


class SyncerError(Exception):
    """Base of every error that ends a command with a message and an exit code."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(SyncerError):
    exit_code = ExitCode.CONFIG


class UsageError(SyncerError):
    exit_code = ExitCode.USAGE


class SafetyStop(SyncerError):
    """A safety guard stopped the run (retirement threshold, error-rate quarantine)."""

    exit_code = ExitCode.SAFETY_STOP


class RunLocked(SyncerError):
    exit_code = ExitCode.LOCKED


class CloudUnreachable(SyncerError):
    exit_code = ExitCode.UNREACHABLE


class CredentialsRejected(SyncerError):
    """``auth/token`` refused the client id and secret (e.g. the secret was reset)."""

    exit_code = ExitCode.CREDENTIALS_REJECTED


class CloudContractBroken(SyncerError):
    """Cloud answered something the API does not promise (a redirect, a body of the wrong shape,
    a list that never ends). Nothing in such an answer is used: acting on it could write wrong
    links or send a request to a URL built from garbage."""

    exit_code = ExitCode.CLOUD_CONTRACT


class Terminated(SyncerError):
    """SIGTERM arrived; the command stopped what it was doing."""

    exit_code = ExitCode.TERMINATED


class Interrupted(SyncerError):
    """SIGINT (Ctrl-C) arrived; the command stopped what it was doing."""

    exit_code = ExitCode.INTERRUPTED


def syncer_error_in(exc: BaseException) -> SyncerError | None:
    """The ``SyncerError`` that ``exc`` is or carries, looking inside exception groups.

    Task groups wrap an error in an ``ExceptionGroup`` (nested, when groups nest); the user must
    still see the one error that ended the run: the first one found, depth first.
    """
    if isinstance(exc, SyncerError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        found = [err for inner in exc.exceptions if (err := syncer_error_in(inner)) is not None]
        return found[0] if found else None
    return None
