"""The values this process must never print or store: the client secret and every token.

An error body may echo the request that caused it (the secret, a bearer token), and that text
flows into exception messages, the run journal and logs. Rather than trusting every call site,
the client registers each secret value here as it learns it, and every place that turns text
into output (``ApiError``, the CLI's error line, the log renderer) passes it through ``mask``.
One process-wide set is the point: any message, from any firm's client, is checked against all.
"""

from __future__ import annotations

import re
from typing import Final

REDACTED: Final = "***"
_MIN_LENGTH: Final = 4
"""Shorter values would mask ordinary words; no real secret or token is this short."""
_BEARER: Final = re.compile(r"(Bearer\s+)[^\s\"',]+", re.IGNORECASE)

_known: set[str] = set()


def remember(value: str) -> None:
    """From now on, ``value`` is masked wherever it appears."""
    if len(value.strip()) >= _MIN_LENGTH:
        _known.add(value.strip())


def mask(text: str) -> str:
    """``text`` with every remembered value and any bearer token replaced by ``***``."""
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return _BEARER.sub(rf"\1{REDACTED}", text)
