"""The Plan: the ordered list of changes that would make Cloud match desired state.

A Plan is a value. The planner builds it without I/O; reports render it; apply executes it and
journals each change by its identity (kind, action, key), which is stable for the same change so
that an interrupted run can recognise work it has already done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeAlias

from syncer.model import LinkKey
from syncer.state import InvalidRow, Ownership

FORMAT_VERSION = 1

MEMBER_ID = "member_id"
"""The ``Change.carry`` entry of an assignment: the member's CWGuid when the member exists."""
PARENT_ID = "parent_id"
"""The ``Change.carry`` entry of a child's create: the parent's CWGuid when the parent exists."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DEACTIVATE = "deactivate"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class FieldChange:
    before: object
    after: object


ChangeKey: TypeAlias = str | LinkKey
"""What a change is about within its kind: an object's natural key, or an assignment's ends."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one object, or one assignment to add or remove.

    ``key`` is the object's natural key (display spelling) or, for an assignment, its two ends
    (``LinkKey``); kind, action and key identify the change wherever it is ordered, journaled or
    held back. An assignment's display text ``"<parent>|<member>"`` is made only where people or
    files read it (``key_text``), since either end may contain ``|``. ``remote_id`` is the CWGuid
    of the object changed (the parent, for assignments) when it already exists.

    ``carry`` holds values the executor must send although they do not change, so that a saved
    plan can be applied without re-reading Cloud: the ``patch_carries`` fields of a PATCH
    (``OwnerType``) and, for assignments, the member's CWGuid (``member_id``) when it exists.
    """

    kind: str
    action: Action
    key: ChangeKey
    remote_id: str | None = None
    fields: Mapping[str, FieldChange] = field(default_factory=dict)
    carry: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def assignment(
        cls, kind: str, action: Action, link: LinkKey, parent_id: str | None, member_id: str | None
    ) -> Change:
        """An assignment to add or remove; the CWGuids are those of the ends that exist."""
        return cls(kind, action, link, parent_id, carry={MEMBER_ID: member_id})

    @property
    def object_key(self) -> str:
        """The natural key of the object (or child) changed; an assignment has two ends instead,
        so asking for its one key is a bug."""
        if isinstance(self.key, LinkKey):
            raise TypeError(f"a {self.kind} change is keyed by its two ends, not one key")
        return self.key


def key_text(key: ChangeKey) -> str:
    """A key as people read it: an object's key, or an assignment's ``"<parent>|<member>"``.
    For reports, log lines and the plan JSON's ``key``; ambiguous when an end contains ``|``,
    so nothing identifies a change by it or reads the ends back out of it."""
    return key if isinstance(key, str) else f"{key.parent}|{key.member}"


@dataclass(frozen=True, slots=True)
class Held:
    """A change the plan holds back, with the reason a reviewer needs."""

    change: Change
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked(Held):
    """Held back by the safety threshold; ``apply --allow-deletes`` releases it."""


@dataclass(frozen=True, slots=True)
class Skipped(Held):
    """Held back by the kind's mode or by ``sync.protected``; never applied."""


@dataclass(frozen=True, slots=True)
class KindSummary:
    """Counts per kind. ``create``/``update``/``delete``/``noop``/``invalid``/``blocked`` are the
    docs/architecture.md §8 names: for assignments ``create`` counts adds and ``delete`` counts
    removals; ``delete`` also counts deactivations (every retirement). The extra counters split
    those totals by action and count ``skipped`` changes (held back by the mode or protection).
    """

    create: int = 0
    update: int = 0
    delete: int = 0
    noop: int = 0
    invalid: int = 0
    blocked: int = 0
    deactivate: int = 0
    add: int = 0
    remove: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    firm: str
    created_at: datetime
    fingerprint: str
    changes: tuple[Change, ...]
    blocked: tuple[Blocked, ...] = ()
    invalid: tuple[InvalidRow, ...] = ()
    summary: Mapping[str, KindSummary] = field(default_factory=dict)
    skipped: tuple[Skipped, ...] = ()
    """Changes the kind's mode or the protected list held back; never released by apply."""
    adoptions: tuple[Ownership, ...] = ()
    """Existing Cloud objects that a desired row matched by natural key and the id map does not
    list yet. Apply records them as adopted (no request is sent): from then on syncer follows them
    through renames and, in mirror mode, may retire them, as it may what it created."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.blocked)
