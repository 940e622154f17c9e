"""Logging: structlog to stderr, readable on a terminal and JSON lines everywhere else.

Logs and progress bars share one rich ``Console`` so a log line printed while a bar is live is
drawn above the bar instead of tearing it. A redaction processor runs last before rendering, so a
token or secret that slipped into an event is masked whatever the call site did.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import orjson
import structlog
from rich.console import Console

from syncer.masking import REDACTED, mask

console = Console(stderr=True)
"""The one console for human output on stderr: logs, progress bars and summaries."""

_SENSITIVE_KEY = re.compile(r"secret|token|authorization|password", re.IGNORECASE)


def redact(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask values under sensitive keys, at any depth, and known secrets and bearer tokens
    inside any string value."""
    for key, value in event.items():
        event[key] = _redacted(key, value)
    return event


def _redacted(key: object, value: Any) -> Any:
    if isinstance(key, str) and _SENSITIVE_KEY.search(key):
        return value if isinstance(value, (int, float, bool)) else REDACTED
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {k: _redacted(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(None, item) for item in value]
    return value


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure(level: str = "info", output: Literal["auto", "console", "json"] = "auto") -> bool:
    """Set up structlog once per process; ``auto`` picks console on a TTY, JSON otherwise.
    Returns whether the lines are JSON, so the caller can keep its own last words in step."""
    use_console = output == "console" or (output == "auto" and console.is_terminal)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=console.is_terminal)
        if use_console
        else structlog.processors.JSONRenderer(serializer=_orjson_dumps)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=_ConsoleLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    return not use_console


class _ConsoleLogger:
    """Writes rendered lines through the shared console (so live progress bars stay intact)."""

    def msg(self, message: str) -> None:
        if console.is_terminal:
            console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _ConsoleLoggerFactory:
    def __call__(self, *args: Any) -> _ConsoleLogger:
        return _ConsoleLogger()


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger
