"""The slice of the Cloud client that apply uses, as a protocol.

Apply depends on these few operations only, so the engine can be driven by ``CloudClient`` in
production and by a deliberately naive client in the benchmark that compares the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from syncer.state import RemoteObject


class CloudApi(Protocol):
    async def create(self, kind: str, body: Mapping[str, object]) -> RemoteObject: ...

    async def update(self, kind: str, cwguid: str, body: Mapping[str, object]) -> RemoteObject: ...

    async def delete(self, kind: str, cwguid: str) -> None: ...

    async def find_by_key(self, kind: str, key: str) -> RemoteObject | None: ...

    async def change_members(
        self, relation: str, parent_cwguid: str, member_ids: Sequence[str], *, remove: bool
    ) -> None: ...
