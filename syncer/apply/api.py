"""The slice of the Cloud client that apply uses, as a protocol.

Apply depends on these few operations only, so the engine can be driven by ``CloudClient`` in
production and by a deliberately naive client in the benchmark that compares the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from syncer.state import RemoteObject


class ClientStats(Protocol):
    """What a client counted, for the run history: requests sent, 429s, 401s, learned rate."""

    @property
    def requests(self) -> int: ...

    @property
    def throttled(self) -> int: ...

    @property
    def unauthorized(self) -> int: ...

    @property
    def learned_rate(self) -> float | None: ...


class CloudApi(Protocol):
    @property
    def stats(self) -> ClientStats: ...

    async def create(self, kind: str, body: Mapping[str, object]) -> RemoteObject: ...

    async def update(self, kind: str, cwguid: str, body: Mapping[str, object]) -> RemoteObject: ...

    async def delete(self, kind: str, cwguid: str) -> None: ...

    async def find_by_key(self, kind: str, key: str) -> RemoteObject | None: ...

    async def change_members(
        self, relation: str, parent_cwguid: str, member_ids: Sequence[str], *, remove: bool
    ) -> None: ...
