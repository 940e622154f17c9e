"""The closing line a ``syncer`` process ends with, in either of its two forms.

``syncer: <message>`` as plain text when the logs are readable text (or not configured yet: a usage
or configuration error); the JSON ``exit`` event, with the message and the exit code, when the
logs are JSON lines, so that a log read by a machine holds nothing but JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from syncer.cli.failures import EXIT_EVENT

PLAIN_PREFIX = "syncer: "


@dataclass(frozen=True)
class Closing:
    message: str
    exit_code: int | None
    """Carried by the JSON form only."""


def closing_lines(stderr: str) -> list[Closing]:
    """Every closing line in ``stderr``, in order, whichever form it took."""
    found = []
    for line in stderr.splitlines():
        if line.startswith(PLAIN_PREFIX):
            found.append(Closing(line.removeprefix(PLAIN_PREFIX), None))
        elif line.startswith("{") and (event := json.loads(line)).get("event") == EXIT_EVENT:
            found.append(Closing(event["message"], event["exit_code"]))
    return found
