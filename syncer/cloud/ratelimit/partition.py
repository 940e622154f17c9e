"""Whether the server keeps one bucket for everything or one per route family.

Within one server second a shared bucket only goes down, so two families' successful responses
never report the same ``remaining``; separate buckets do so all the time. Equal values across
families are evidence of a split; distinct ones, weakly, of one bucket. Evidence decides, and the
limiter splits its buckets per family (or merges them back) when it says so.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from syncer.cloud.ratelimit.tuning import DEFAULT_TUNING, Tuning

SHARED = "*"
"""Bucket key while every family shares one bucket."""


@dataclass(frozen=True, slots=True)
class _FamilyObservation:
    family: str
    second: int
    remaining: float


class Partition:
    """The evidence for and against one bucket per family, and the verdict."""

    def __init__(self, tuning: Tuning = DEFAULT_TUNING) -> None:
        self._tuning = tuning
        self.split = False
        self._seen: deque[_FamilyObservation] = deque(maxlen=tuning.recent)
        self._families: Counter[str] = Counter()
        """How many of ``_seen`` each family has: with one family alone (the common case) there
        is nothing to compare with, and the answers need not be searched for it."""
        self._split_evidence = 0.0
        self._shared_evidence = 0.0

    def key(self, family: str) -> str:
        """The bucket ``family``'s requests draw from under the current verdict."""
        return family if self.split else SHARED

    def weigh(self, family: str, second: int, remaining: float) -> bool:
        """Add a successful response processed surely within our credit interval ``second``;
        returns whether the verdict changed (the buckets must then be replaced)."""
        current = _FamilyObservation(family, second, remaining)
        seen_before = self._seen
        others = (
            [seen for seen in seen_before if seen.second == second and seen.family != family]
            if self._families[family] < len(seen_before)
            else []
        )
        if len(seen_before) == seen_before.maxlen:
            self._families[seen_before[0].family] -= 1
        seen_before.append(current)
        self._families[family] += 1
        if not others:
            return False
        tuning = self._tuning
        if any(abs(seen.remaining - remaining) < tuning.tolerance for seen in others):
            self._split_evidence += 1.0
            self._shared_evidence *= tuning.evidence_decay
        else:
            self._shared_evidence += tuning.shared_weight
            self._split_evidence *= tuning.evidence_decay
        return self._decide()

    def _decide(self) -> bool:
        for_, against = (
            (self._shared_evidence, self._split_evidence)
            if self.split
            else (self._split_evidence, self._shared_evidence)
        )
        if for_ < max(self._tuning.evidence_to_switch, 2 * against):
            return False
        self.split = not self.split
        self._split_evidence = self._shared_evidence = 0.0
        return True
