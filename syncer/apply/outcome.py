"""How a change ends up in the journal: its status, and the outcome a request gives it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from syncer.state import Origin, RemoteObject


class ChangeStatus(StrEnum):
    PENDING = "pending"
    """Planned in this run, not sent yet."""
    SENT = "sent"
    """The request may have left; nobody has confirmed the outcome yet."""
    DONE = "done"
    REJECTED = "rejected"
    """The API refused this row (4xx); the back-off index holds the key back."""
    FAILED = "failed"
    """Transient trouble (5xx after retries); planned again next run."""
    UNKNOWN = "unknown"
    """Sent, then the run had to stop before the outcome was known; settled on the next start."""
    SKIPPED = "skipped"
    """Never sent: a dependency failed, the run stopped, or the change was superseded."""
    BLOCKED = "blocked"
    """Held back by a safety guard of the plan."""
    DEFERRED = "deferred"
    """Held back by the back-off index: rejected before with the same body, not yet due."""


UNCONFIRMED = (ChangeStatus.SENT, ChangeStatus.UNKNOWN)
"""Statuses whose request may or may not have been applied."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a change ended. ``remote`` with ``origin`` adds the object to the id map."""

    status: ChangeStatus
    message: str | None = None
    remote: RemoteObject | None = None
    origin: Origin | None = None
