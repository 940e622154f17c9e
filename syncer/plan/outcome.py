"""The planner's working result for one kind, before guards, ordering and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncer.plan.changes import Change, Skipped
from syncer.state import InvalidRow, Ownership


@dataclass(slots=True)
class KindOutcome:
    """What planning one kind produced.

    ``retirements`` (deactivations, deletes, removals) are kept apart from ``changes`` until the
    threshold guard has compared their number with ``owned``, the count of that kind's objects
    (or assignments) syncer owns.
    """

    kind: str
    changes: list[Change] = field(default_factory=list)
    retirements: list[Change] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    adoptions: list[Ownership] = field(default_factory=list)
    noop: int = 0
    owned: int = 0
