"""A Cloud that misbehaves the way real servers do, one behaviour at a time, on loopback.

Unlike the simulator (which keeps the API's promises and only throttles or fails as the API
allows), this server breaks them: it redirects, answers HTML with 200, repeats a page for ever,
refuses every request with 429, echoes the secret in an error body... Each ``Behaviour`` is one
such fault; everything else is a minimal, empty, well-behaved firm. A second server, the
``elsewhere`` origin, records every request it gets: it must never get one (a redirect followed
would carry the secret or a token to it).

Guide::

    async with serve_hostile(Behaviour.AUTH_REDIRECT) as server:
        server.base_url, server.firm, CLIENT_ID, SECRET, TOKEN
        server.requests        # (method, path) of every request the hostile server got
        server.elsewhere       # what the other origin received (must stay empty)
"""

from __future__ import annotations

import enum
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import orjson
from aiohttp import web

FIRM = "hostile"
CLIENT_ID = "hostile-client"
SECRET = "S3cret-of-the-hostile-test-0451"
TOKEN = "Tok-hostile-7f3a9c2e"
API = f"/{FIRM}/ms/caseware-cloud/api/v2/"
GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PAGE_SIZE = 2
"""The page size the tests configure, so a "full page" is small."""
BODY_CAP = 4096
"""The ``cloud.max_response_bytes`` the tests configure; ``HUGE_BODY`` answers more."""


class Behaviour(enum.Enum):
    WELL_BEHAVED = "an empty firm that keeps every promise (for the operator's own mistakes)"
    AUTH_401 = "auth/token answers 401"
    AUTH_503 = "auth/token answers 503 every time"
    AUTH_REDIRECT = "auth/token answers 307 to another origin"
    LIST_REDIRECT = "a list answers 302 to another origin"
    HTML_200 = "a list answers 200 with an HTML page"
    OBJECT_NOT_ARRAY = "a list answers a JSON object"
    ARRAY_OF_NON_OBJECTS = "a list answers an array of numbers"
    TOKEN_MISSING = "the token response has no Token"
    ROLE_IDS_NOT_INTS = "FirmWideRoleIds is not a list of integers"
    CWGUID_NULL = "a CWGuid is null"
    CWGUID_NOT_GUID = "a CWGuid is not a GUID"
    SAME_PAGE_FOREVER = "a list answers the same full page for ever"
    THROTTLED_FOREVER = "every request answers 429"
    HUGE_BODY = "a list answers a body over the cap"
    HUGE_STREAM = "a list streams a body over the cap, without a Content-Length"
    HUGE_GZIP = "a list answers a gzip body under the cap that inflates over it"
    ERROR_ECHOES_REQUEST = "an error body echoes the secret and the token"
    SLOW_LIST = "a list never finishes answering"
    RENEWAL_REFUSED = "a write needs a new token and auth/token then answers 422"
    RENEWAL_FAILS = "a write needs a new token and auth/token then answers 500"


@dataclass
class HostileServer:
    base_url: str
    behaviour: Behaviour
    requests: list[tuple[str, str]] = field(default_factory=list)
    raw_paths: list[str] = field(default_factory=list)
    """Each request's path exactly as sent, percent-escapes and all."""
    elsewhere: list[str] = field(default_factory=list)
    elsewhere_url: str = ""
    tokens_issued: int = 0
    first_read: anyio.Event = field(default_factory=anyio.Event)

    @property
    def firm(self) -> str:
        return FIRM

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET" and not r[1].endswith("auth/token")]

    @property
    def reads(self) -> int:
        return sum(1 for method, _ in self.requests if method == "GET")


Handler = Callable[[HostileServer, web.Request, str], Awaitable[web.StreamResponse | None]]
"""A behaviour's answer to a request for API path ``tail``; ``None`` means answer normally."""


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _is_list(tail: str) -> bool:
    return tail in ("entities", "users", "groups", "roles")


def _entity(n: int, guid: object) -> dict[str, object]:
    return {"Id": n, "CWGuid": guid, "EntityNo": f"E-{n}", "Name": f"Entity {n}"}


async def _normal(server: HostileServer, request: web.Request, tail: str) -> web.Response:
    if tail == "auth/token":
        server.tokens_issued += 1
        return _json({"Token": TOKEN})
    if request.method == "GET":
        return _json([])
    return _json({"message": "this hostile server accepts no writes"}, status=400)


async def _answer(server: HostileServer, request: web.Request, tail: str) -> web.StreamResponse:
    auth, listing = tail == "auth/token", _is_list(tail) and request.method == "GET"
    b = Behaviour
    match server.behaviour:
        case b.AUTH_401 if auth:
            return _json({"message": "invalid client"}, status=401)
        case b.AUTH_503 if auth:
            return web.Response(status=503, text="maintenance")
        case b.AUTH_REDIRECT if auth:
            raise web.HTTPTemporaryRedirect(server.elsewhere_url + "auth/token")
        case b.LIST_REDIRECT if listing:
            raise web.HTTPFound(server.elsewhere_url + tail)
        case b.HTML_200 if listing:
            return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")
        case b.OBJECT_NOT_ARRAY if listing:
            return _json({"items": []})
        case b.ARRAY_OF_NON_OBJECTS if listing:
            return _json([1, 2])
        case b.TOKEN_MISSING if auth:
            return _json({"token_type": "bearer"})
        case b.ROLE_IDS_NOT_INTS if tail == "users":
            return _json([{"Id": 1, "CWGuid": GUID, "Email": "a@x.com", "FirmWideRoleIds": "x"}])
        case b.CWGUID_NULL if tail == "entities":
            return _json([_entity(1, None)])
        case b.CWGUID_NOT_GUID if tail == "entities":
            return _json([_entity(1, "../../users")])
        case b.SAME_PAGE_FOREVER if tail == "entities":
            guids = [GUID, GUID.replace("0f8f", "1f8f")]
            return _json([_entity(n, guid) for n, guid in enumerate(guids[:PAGE_SIZE])])
        case b.THROTTLED_FOREVER:
            return web.Response(status=429, text="slow down")
        case b.HUGE_BODY if tail == "entities":
            return _json([_entity(n, GUID) for n in range(BODY_CAP // 20)])
        case b.HUGE_STREAM if tail == "entities":
            return await _stream_forever(request)
        case b.HUGE_GZIP if tail == "entities":
            inflated = orjson.dumps([_entity(n, GUID) for n in range(BODY_CAP // 20)])
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            return web.Response(body=gzip.compress(inflated), headers=headers)
        case b.ERROR_ECHOES_REQUEST if request.method != "GET" and not auth:
            echoed = f"bad request: Authorization: {request.headers.get('Authorization')}"
            return _json({"message": f"{echoed}; ClientSecret={SECRET}"}, status=422)
        case b.SLOW_LIST if listing:
            await anyio.sleep(60)
        case b.RENEWAL_REFUSED | b.RENEWAL_FAILS if auth and server.tokens_issued:
            status = 422 if server.behaviour is b.RENEWAL_REFUSED else 500
            return _json({"message": "no"}, status=status)
        case b.RENEWAL_REFUSED | b.RENEWAL_FAILS if request.method == "POST" and not auth:
            return _json({"message": "token expired"}, status=401)
    return await _normal(server, request, tail)


async def _stream_forever(request: web.Request) -> web.StreamResponse:
    """Chunks of a JSON array that never ends, until the client hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"[")
    entity = orjson.dumps(_entity(1, GUID)) + b","
    for _ in range(10_000):
        await response.write(entity * 50)
    return response


def _app(server: HostileServer) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        server.requests.append((request.method, tail))
        server.raw_paths.append(request.raw_path)
        if request.method == "GET":
            server.first_read.set()
        return await _answer(server, request, tail)

    app = web.Application()
    app.router.add_route("*", API + "{tail:.*}", handle)
    return app


def _elsewhere_app(server: HostileServer) -> web.Application:
    async def record(request: web.Request) -> web.Response:
        server.elsewhere.append(f"{request.method} {request.path} {await request.text()}")
        return _json({"Token": "stolen"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    return app


@asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sockets: list[socket.socket] = list(getattr(site._server, "sockets", ()))
        port = sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_hostile(behaviour: Behaviour) -> AsyncIterator[HostileServer]:
    """The hostile server and its "elsewhere" origin, both on loopback, for the block."""
    server = HostileServer("", behaviour)
    async with _serve(_elsewhere_app(server)) as elsewhere, _serve(_app(server)) as base:
        server.base_url = base
        server.elsewhere_url = elsewhere + API
        yield server
