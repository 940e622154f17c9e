"""The gateway in front of the firm's API: faults, rate limit, authentication, then the handler.

Order per request, as a Spring Cloud Gateway in front of a backend would do it: injected latency;
the rate limiter keyed by the caller (the API client behind the bearer token, or the ``ClientId``
of an ``auth/token`` body); 429 with an empty body when denied; 401 without a live session; then
the backend, whose injected error or dropped connection happens before the handler or, with
``after_write``, after it (the write is done but the caller cannot know). The four
``x-ratelimit-*`` headers go on every response of a limited route, 401 and 5xx included.
"""

from __future__ import annotations

from typing import Final

import orjson
from aiohttp import web

from syncer.simulator.api import SESSION, Handler, json_response, sim_of
from syncer.simulator.auth import Session
from syncer.simulator.core import Simulator
from syncer.simulator.errors import ApiError
from syncer.simulator.faults import Fate

CONTROL_PREFIX: Final = "/_sim/"
WRITE_METHODS: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})


DROPPED: Final = 599
"""Status recorded in the stats for a request whose connection was dropped (never sent)."""


@web.middleware
async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX) or request.match_info.route.resource is None:
        return await handler(request)
    sim = sim_of(request)
    if request.match_info.get("firm") != sim.firm:
        return json_response({"message": "Unknown firm.", "errors": []}, status=404)
    route = route_name(request)
    family = route.split(" ", 1)[1].split("/", 1)[0]  # the first path segment names the family
    fate = sim.fate()
    if fate.delay:
        await sim.clock.sleep(fate.delay)
    session, principal = await _caller(request, sim, family)
    decision = sim.admit(family, principal, session)
    if decision is not None and not decision.allowed:
        response: web.StreamResponse = web.Response(status=429)
    else:
        response = await _backend(
            request, handler, sim=sim, fate=fate, session=session, family=family
        )
    if fate.slow:
        await sim.clock.sleep(fate.slow)
    if decision is not None:
        response.headers.update(sim.dialect.rate_headers(decision.headers))
    sim.stats.responded(route, response.status)
    return response


def route_name(request: web.Request) -> str:
    """``METHOD path-template`` relative to the API root, e.g. ``GET entities/{cw_guid}``."""
    resource = request.match_info.route.resource
    assert resource is not None
    return f"{request.method} {resource.canonical.split('/api/v2/', 1)[1]}"


async def _caller(request: web.Request, sim: Simulator, family: str) -> tuple[Session | None, str]:
    """The session (if any) and the principal the bucket is keyed by."""
    if family == "auth":
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            client_id = next((v for k, v in body.items() if k.lower() == "clientid"), None)
            if isinstance(client_id, str) and client_id:
                return None, client_id
        return None, f"anonymous:{request.remote}"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    session = sim.sessions.resolve(token) if scheme.lower() == "bearer" and token else None
    if session is None:
        return None, f"anonymous:{request.remote}"
    return session, session.client_id


async def _backend(
    request: web.Request,
    handler: Handler,
    *,
    sim: Simulator,
    fate: Fate,
    session: Session | None,
    family: str,
) -> web.StreamResponse:
    try:
        if family != "auth":
            _authorise(request, sim, session)
        if not fate.after_write and (early := _misfortune(request, sim, fate)) is not None:
            return early
        response = await handler(request)
    except ApiError as exc:
        return json_response(exc.body(), status=sim.dialect.error_status(exc.status))
    late = _misfortune(request, sim, fate) if fate.after_write else None
    return response if late is None else late


def _authorise(request: web.Request, sim: Simulator, session: Session | None) -> None:
    if session is None:
        raise ApiError(401, "The bearer token is missing, unknown, expired or revoked.")
    request[SESSION] = session
    client = sim.sessions.client(session.client_id)
    if request.method in WRITE_METHODS and client is not None and client.read_only:
        raise ApiError(403, "This API client may only read.")


def _misfortune(request: web.Request, sim: Simulator, fate: Fate) -> web.StreamResponse | None:
    """The injected error or dropped connection for this request, if it drew one.

    A drop aborts the transport and returns a placeholder response with status ``DROPPED``;
    aiohttp's attempt to send it fails quietly as a premature client disconnection.
    """
    if fate.error_status is not None:
        sim.stats.count("injected_errors")
        error = ApiError(fate.error_status, "Injected server error.")
        return json_response(error.body(), status=error.status)
    if fate.drop:
        sim.stats.count("dropped")
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=DROPPED)
    return None
