"""What the planner may do, per kind: the mode, the protected keys and the retirement guard.

``PlanPolicy`` is the planner's view of ``SyncSettings``: plain frozen data with keys already
normalised, so the pure planner never reads configuration and tests can build one directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from syncer.model import OBJECT_KINDS, RELATION_KINDS, USERS, ObjectKind, Retirement, normalise_key
from syncer.settings import SyncMode, SyncSettings


@dataclass(frozen=True, slots=True)
class RetireThreshold:
    """Retirements of one kind are blocked when they exceed BOTH ``count`` and ``ratio`` of the
    objects syncer owns of that kind: a small firm may retire a few, a big one a few percent."""

    count: int = 20
    ratio: float = 0.10

    def exceeded(self, retiring: int, owned: int) -> bool:
        return retiring > self.count and retiring > self.ratio * owned

    def describe(self) -> str:
        return f"more than {self.count} and more than {self.ratio * 100:g} %"


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    modes: Mapping[str, SyncMode] = field(default_factory=dict)
    protected: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per kind, normalised keys (for assignments: parent keys or ``parent|member``)."""
    threshold: RetireThreshold = RetireThreshold()
    delete_users: bool = False

    def mode(self, kind: str) -> SyncMode:
        return self.modes.get(kind, SyncMode.UPSERT)

    def retirement(self, kind: ObjectKind) -> Retirement:
        """How mirror mode retires ``kind``: the model's default, or delete for users when
        ``sync.delete_users`` asks for it."""
        if self.delete_users and kind.name == USERS.name:
            return Retirement.DELETE
        return kind.retirement

    def is_protected(self, kind: str, normalised_key: str) -> bool:
        return normalised_key in self.protected.get(kind, frozenset())

    @classmethod
    def from_settings(cls, settings: SyncSettings) -> PlanPolicy:
        """Build the policy, normalising protected keys the way each kind compares keys."""
        return cls(
            modes=dict(settings.modes),
            protected={
                kind: frozenset(_normalise_protected(kind, key) for key in keys)
                for kind, keys in settings.protected.items()
            },
            threshold=RetireThreshold(
                settings.retire_threshold_count, settings.retire_threshold_ratio
            ),
            delete_users=settings.delete_users,
        )


def _normalise_protected(kind: str, key: str) -> str:
    """Object and child keys follow their kind; assignment keys ``parent|member`` follow both
    kinds."""
    relation = RELATION_KINDS.get(kind)
    if relation is None:
        return normalise_key(kind, key)
    parent, _, member = key.partition("|")
    parent_key = OBJECT_KINDS[relation.parent_kind].normalise_key(parent)
    if not member:
        return parent_key
    member_key = normalise_key(relation.member_kind, member)
    return f"{parent_key}|{member_key}"
