"""A worker's firms share one aiohttp session per API origin (``SharedHttp``): their requests
reuse its connections, and nothing one firm's server set (a cookie) goes with another's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from pydantic import SecretStr

from syncer.cloud import SharedHttp
from syncer.cloud.pipeline import ApiRequest, ClientStats
from syncer.cloud.transport import http_transport
from syncer.settings import CloudSettings

pytestmark = pytest.mark.anyio


@dataclass
class Seen:
    """Per request: the path, the Cookie header it carried and the client's port."""

    requests: list[tuple[str, str | None, int]] = field(default_factory=list)


@asynccontextmanager
async def cookie_server() -> AsyncIterator[tuple[str, Seen]]:
    """A loopback server that answers every path with ``[]`` and a cookie naming the path."""
    seen = Seen()

    async def answer(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.requests.append((request.path, request.headers.get("Cookie"), peer[1] if peer else 0))
        response = web.json_response([])
        response.set_cookie("session", request.path.strip("/").replace("/", "-"))
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://localhost:{port}", seen  # a name: cookies of IPs are never kept
    finally:
        await runner.cleanup()


def firm(name: str, base_url: str) -> CloudSettings:
    return CloudSettings(
        firm=name, base_url=base_url, client_id=f"{name}-id", client_secret=SecretStr("s3cret")
    )


async def get(settings: CloudSettings, shared: SharedHttp, path: str) -> None:
    async with http_transport(settings, ClientStats(), 2, shared) as sender:
        response = await sender.send(ApiRequest("GET", path))
    assert response.status == 200


async def test_firms_of_one_origin_share_connections_and_no_cookies() -> None:
    shared = SharedHttp()
    try:
        async with cookie_server() as (base_url, seen):
            await get(firm("alpha", base_url), shared, "entities")
            await get(firm("beta", base_url), shared, "entities")
            await get(firm("alpha", base_url), shared, "users")
    finally:
        await shared.close()
    paths = [path for path, _, _ in seen.requests]
    assert [path.split("/")[1] for path in paths] == ["alpha", "beta", "alpha"]
    assert [cookie for _, cookie, _ in seen.requests] == [None, None, None]
    assert len({port for _, _, port in seen.requests}) == 1, "one kept-alive connection"


async def test_each_origin_has_its_own_session_until_closed() -> None:
    shared = SharedHttp()
    first = shared.session("http://127.0.0.1:8001/alpha/api/")
    try:
        assert shared.session("http://127.0.0.1:8001/beta/api/") is first
        assert shared.session("http://127.0.0.1:8002/alpha/api/") is not first
    finally:
        await shared.close()
    assert first.closed
