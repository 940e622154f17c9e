"""The slice of the Cloud client that apply uses, as a protocol.

Apply depends on these few operations only, so the engine can be driven by ``CloudClient`` in
production and by a deliberately naive client in the benchmark that compares the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from syncer.cloud import LimiterStats, WireFigures
from syncer.model import ChildKind, ObjectKind, RelationKind
from syncer.state import RemoteObject


class RequestCounts(Protocol):
    """What a client counted, for the run history: requests sent, 429s and 401s received."""

    @property
    def requests(self) -> int: ...

    @property
    def throttled(self) -> int: ...

    @property
    def unauthorized(self) -> int: ...


class CloudApi(Protocol):
    @property
    def stats(self) -> RequestCounts: ...

    @property
    def limiter_stats(self) -> LimiterStats | None:
        """What the rate limiter learned; None for a client without one."""
        ...

    def wire_figures(self) -> WireFigures:
        """Latency per route family and pages read past the end, for the run row."""
        ...

    def write_target(self) -> int:
        """Changes to keep in flight now; follows the learned rate and the latency."""
        ...

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject: ...

    async def update(
        self, kind: ObjectKind, cwguid: str, body: Mapping[str, object]
    ) -> RemoteObject: ...

    async def delete(self, kind: ObjectKind, cwguid: str) -> None: ...

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None: ...

    async def change_members(
        self, relation: RelationKind, parent_cwguid: str, member_ids: Sequence[str], *, remove: bool
    ) -> None: ...

    async def list_children(self, kind: ChildKind, parent_cwguid: str) -> list[RemoteObject]: ...

    async def create_child(
        self, kind: ChildKind, parent_cwguid: str, body: Mapping[str, object]
    ) -> int | RemoteObject:
        """The new child's ``Id`` (the API's bare-integer answer), or the object if answered."""
        ...

    async def update_child(
        self, kind: ChildKind, cwguid: str, body: Mapping[str, object]
    ) -> None: ...


def learned_request_rate(stats: LimiterStats | None) -> float | None:
    """Requests per second the limiter learned the server grants (tokens per second / cost)."""
    if stats is None or stats.rate is None:
        return None
    return stats.rate / (stats.cost or 1.0)
