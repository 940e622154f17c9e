"""Errors that end a command, each carrying the exit code of the public contract.

ARCHITECTURE.md section 7 fixes the codes; keeping them on the exception types means a command
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
