"""A client with no wire: every create is answered at once from memory, nothing is sent.

Beside syncer's real client it shows what the engine itself costs per change (scheduler,
operations, journal, id map) without HTTP, the simulator or the rate limiter: the part of the
ceiling that this repository's apply code owns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio

from syncer.cloud.latency import WireFigures
from syncer.cloud.ratelimit import LimiterStats
from syncer.model import ChildKind, ObjectKind, RelationKind
from syncer.state import RemoteObject


@dataclass
class NoWireStats:
    requests: int = 0
    throttled: int = 0
    unauthorized: int = 0


class NoWireClient:
    """Answers creates with a fresh CWGuid after one checkpoint (so answers interleave)."""

    def __init__(self, in_flight: int) -> None:
        self._in_flight = in_flight
        self._next_id = 0
        self.stats = NoWireStats()
        self.limiter_stats: LimiterStats | None = None
        self.created: dict[str, int] = {}
        """Creates per key, to count duplicates as the simulator does."""

    def wire_figures(self) -> WireFigures:
        return WireFigures()

    def write_target(self) -> int:
        return self._in_flight

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject:
        await anyio.lowlevel.checkpoint()
        self.stats.requests += 1
        self._next_id += 1
        key = str(body.get(kind.key_field))
        self.created[key] = self.created.get(key, 0) + 1
        return RemoteObject(str(uuid.uuid4()), self._next_id, dict(body))

    async def update(
        self, kind: ObjectKind, cwguid: str, body: Mapping[str, object]
    ) -> RemoteObject:
        raise NotImplementedError("the no-wire client only creates")

    async def delete(self, kind: ObjectKind, cwguid: str) -> None:
        raise NotImplementedError("the no-wire client only creates")

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None:
        return None

    async def change_members(
        self, relation: RelationKind, parent_cwguid: str, member_ids: Sequence[str], *, remove: bool
    ) -> None:
        raise NotImplementedError("the no-wire client only creates")

    async def list_children(self, kind: ChildKind, parent_cwguid: str) -> list[RemoteObject]:
        return []

    async def create_child(
        self, kind: ChildKind, parent_cwguid: str, body: Mapping[str, object]
    ) -> int | RemoteObject:
        raise NotImplementedError("the no-wire client only creates")

    async def update_child(self, kind: ChildKind, cwguid: str, body: Mapping[str, object]) -> None:
        raise NotImplementedError("the no-wire client only creates")
