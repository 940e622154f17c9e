"""The baseline: a client that knows nothing about the rate limit and retries every 429.

It sends as soon as a worker is free and, when refused, waits a fixed short delay and sends again.
That is what most scripts against a rate-limited API do; the benchmark puts it beside syncer's
client under the same engine, so the difference is the client alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import anyio

from syncer.assumptions import ApiSettings
from syncer.cloud.answers import child_answer, remote_object
from syncer.cloud.errors import extract_message, rejection_for
from syncer.cloud.latency import WireFigures
from syncer.cloud.ratelimit import LimiterStats
from syncer.model import ChildKind, ObjectKind, RelationKind
from syncer.state import RemoteObject

RETRY_DELAY_SECONDS = 0.05


@dataclass
class NaiveStats:
    requests: int = 0
    throttled: int = 0
    unauthorized: int = 0


class NaiveClient:
    def __init__(
        self, session: aiohttp.ClientSession, api_root: str, token: str, in_flight: int = 16
    ) -> None:
        self._session = session
        self._in_flight = in_flight
        self._root = api_root
        self._headers = {"Authorization": f"Bearer {token}"}
        self.stats = NaiveStats()
        self.limiter_stats: LimiterStats | None = None

    def wire_figures(self) -> WireFigures:
        return WireFigures()

    def write_target(self) -> int:
        return self._in_flight

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        api_root: str,
        client_id: str,
        secret: str,
        in_flight: int = 16,
    ) -> NaiveClient:
        body = {"ClientId": client_id, "ClientSecret": secret, "Language": "en"}
        while True:
            async with session.post(api_root + "auth/token", json=body) as response:
                if response.status != 429:
                    response.raise_for_status()
                    token = (await response.json())["Token"]
                    return cls(session, api_root, token, in_flight)
            await anyio.sleep(RETRY_DELAY_SECONDS)

    async def _send(self, method: str, path: str, body: object = None) -> Any:
        while True:
            self.stats.requests += 1
            async with self._session.request(
                method, self._root + path, json=body, headers=self._headers
            ) as response:
                if response.status == 429:
                    self.stats.throttled += 1
                    await anyio.sleep(RETRY_DELAY_SECONDS)
                    continue
                raw = await response.read()
                if response.status >= 400:
                    message = extract_message(response.status, raw)
                    refusal = rejection_for(response.status, message)
                    raise refusal(response.status, message, method, path)
                return await response.json() if raw else None

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject:
        return remote_object(await self._send("POST", kind.api_path, dict(body)))

    async def update(
        self, kind: ObjectKind, cwguid: str, body: Mapping[str, object]
    ) -> RemoteObject:
        return remote_object(await self._send("PATCH", f"{kind.api_path}/{cwguid}", dict(body)))

    async def delete(self, kind: ObjectKind, cwguid: str) -> None:
        await self._send("DELETE", f"{kind.api_path}/{cwguid}")

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None:
        search = f"{kind.key_field}={ApiSettings().quote(key)}"
        found = await self._send("GET", f"{kind.api_path}?search={search}")
        return remote_object(found[0]) if found else None

    async def change_members(
        self, relation: RelationKind, parent_cwguid: str, member_ids: Sequence[str], *, remove: bool
    ) -> None:
        body = {relation.members_body_key: list(member_ids), "isRemove": remove}
        await self._send("PATCH", relation.assign_path.format(id=parent_cwguid), body)

    async def list_children(self, kind: ChildKind, parent_cwguid: str) -> list[RemoteObject]:
        found = await self._send("GET", kind.list_path.format(id=parent_cwguid))
        return [remote_object(child) for child in found or ()]

    async def create_child(
        self, kind: ChildKind, parent_cwguid: str, body: Mapping[str, object]
    ) -> int | RemoteObject:
        path = kind.create_path.format(id=parent_cwguid)
        return child_answer(kind, f"POST {path}", await self._send("POST", path, dict(body)))

    async def update_child(self, kind: ChildKind, cwguid: str, body: Mapping[str, object]) -> None:
        await self._send("PATCH", kind.update_path.format(id=cwguid), dict(body))
