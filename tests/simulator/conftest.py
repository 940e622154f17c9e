"""A thin HTTP caller for the simulator tests: real aiohttp requests, replies read eagerly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from multidict import CIMultiDictProxy

from syncer.simulator import RunningSimulator


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.raw)

    def limit_headers(self) -> dict[str, str]:
        return {
            k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-ratelimit")
        }


@dataclass
class Api:
    http: aiohttp.ClientSession
    running: RunningSimulator
    token: str | None = field(default=None, repr=False)

    async def authenticate(self, client_id: str | None = None, secret: str | None = None) -> Reply:
        """POST auth/token; on success the token is used by later calls."""
        reply = await self.call(
            "POST",
            "auth/token",
            json={
                "ClientId": client_id or self.running.client_id,
                "ClientSecret": secret or self.running.client_secret,
                "Language": "en",
            },
            token=None,
        )
        if reply.status == 200:
            self.token = reply.json["Token"]
        return reply

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        token: str | bool | None = True,
    ) -> Reply:
        """``token=True`` sends the current token, ``None`` none, a string that string."""
        bearer = self.token if token is True else token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with self.http.request(
            method, self.running.api_root + path, json=json, params=params, headers=headers
        ) as response:
            return Reply(response.status, response.headers, await response.read())

    async def control(self, method: str, path: str, json: Any = None) -> Reply:
        async with self.http.request(
            method, f"{self.running.base_url}/_sim/{path}", json=json
        ) as response:
            return Reply(response.status, response.headers, await response.read())


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def api(http: aiohttp.ClientSession, simulator: RunningSimulator) -> Api:
    """An ``Api`` already holding a token of the simulator's client."""
    caller = Api(http, simulator)
    assert (await caller.authenticate()).status == 200
    return caller
