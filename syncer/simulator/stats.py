"""Server-side counters, the ground truth benchmarks compute utilisation from.

Per whole second of the server clock: requests the limiter allowed and denied. Per route template
and status: response counts. Plus 401s, ``auth/token`` calls, and successful and conflicting
creates per natural key (a duplicate create shows up as a count above 1 or as a conflict).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.per_second: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.by_route: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.creates: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.create_conflicts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.events: Counter[str] = Counter()

    def limited(self, second: int, allowed: bool, fail_open: bool) -> None:
        self.per_second[second]["allowed" if allowed else "denied"] += 1
        if fail_open:
            self.events["fail_open"] += 1

    def responded(self, route: str, status: int) -> None:
        self.by_route[route][status] += 1
        if status == 401:
            self.events["unauthorized"] += 1

    def count(self, event: str) -> None:
        """Named events: ``auth_calls``, ``dropped``, ``injected_errors``, ..."""
        self.events[event] += 1

    def created(self, kind: str, key: str | None) -> None:
        if key is not None:
            self.creates[kind][key] += 1

    def conflicted(self, kind: str, key: str | None) -> None:
        if key is not None:
            self.create_conflicts[kind][key] += 1

    def snapshot(self) -> dict[str, Any]:
        seconds = sorted(self.per_second)
        return {
            "per_second": [
                {
                    "second": s,
                    "allowed": self.per_second[s]["allowed"],
                    "denied": self.per_second[s]["denied"],
                }
                for s in seconds
            ],
            "allowed": sum(c["allowed"] for c in self.per_second.values()),
            "denied": sum(c["denied"] for c in self.per_second.values()),
            "by_route": {
                route: {str(status): n for status, n in sorted(counts.items())}
                for route, counts in sorted(self.by_route.items())
            },
            "unauthorized": self.events["unauthorized"],
            "auth_calls": self.events["auth_calls"],
            "events": dict(sorted(self.events.items())),
            "creates": {kind: dict(keys) for kind, keys in sorted(self.creates.items())},
            "create_conflicts": {
                kind: dict(keys) for kind, keys in sorted(self.create_conflicts.items())
            },
        }
