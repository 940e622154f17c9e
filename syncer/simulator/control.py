"""The control plane under ``/_sim/``: no firm, no auth, no rate limit.

Tests, benchmarks and humans with curl use it to shape the simulated world; every route is a thin
JSON wrapper over a ``Simulator`` method, so in-process code can call the same thing directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from aiohttp import web
from pydantic import ValidationError

from syncer.simulator.api import SIMULATOR, json_response
from syncer.simulator.config import ClientSpec
from syncer.simulator.errors import ApiError, invalid
from syncer.simulator.resources import Violation

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ControlRoute:
    method: str
    path: str
    handler: ControlHandler
    summary: str
    body: str | None = None
    """Name of the OpenAPI component schema of the request body, if it has a fixed one."""


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise invalid([Violation("", "the body is not valid JSON")]) from None
    if not isinstance(body, dict):
        raise invalid([Violation("", "the body must be a JSON object")])
    return body


def guarded(handler: ControlHandler) -> ControlHandler:
    """Turn bad input (pydantic, missing keys, ``ApiError``) into the usual 400/404 body."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status)
        except ValidationError as exc:
            errors = [Violation(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            return json_response(invalid(errors).body(), status=400)
        except (KeyError, ValueError, TypeError) as exc:
            return json_response(invalid([Violation("", str(exc))]).body(), status=400)

    return wrapper


async def register_client(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    unknown = set(body) - {"client_id", "client_secret", "read_only"}
    if unknown:
        raise invalid([Violation(name, "unknown field") for name in sorted(unknown)])
    wrong = [k for k, v in body.items() if not isinstance(v, bool if k == "read_only" else str)]
    if wrong:
        raise invalid([Violation(name, "wrong type") for name in wrong])
    spec = request.app[SIMULATOR].register_client(ClientSpec(**body))
    return json_response(
        {
            "client_id": spec.client_id,
            "client_secret": spec.client_secret,
            "read_only": spec.read_only,
        }
    )


async def reset_secret(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR]
    client_id = request.match_info["client_id"]
    if sim.sessions.client(client_id) is None:
        raise ApiError(404, f"No API client {client_id}.")
    secret = sim.reset_secret(client_id, (await _body(request)).get("client_secret"))
    return json_response({"client_id": client_id, "client_secret": secret})


async def get_limits(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR].limits.model_dump(mode="json"))


async def set_limits(request: web.Request) -> web.StreamResponse:
    limits = request.app[SIMULATOR].set_limits(**await _body(request))
    return json_response(limits.model_dump(mode="json"))


async def get_faults(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR].injector.faults.model_dump(mode="json"))


async def set_faults(request: web.Request) -> web.StreamResponse:
    faults = request.app[SIMULATOR].set_faults(**await _body(request))
    return json_response(faults.model_dump(mode="json"))


async def get_dialect(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR].dialect.model_dump(mode="json"))


async def set_dialect(request: web.Request) -> web.StreamResponse:
    dialect = request.app[SIMULATOR].set_dialect(**await _body(request))
    return json_response(dialect.model_dump(mode="json"))


async def set_token_lifetime(request: web.Request) -> web.StreamResponse:
    seconds = float((await _body(request))["seconds"])
    request.app[SIMULATOR].set_token_lifetime(seconds)
    return json_response({"seconds": seconds})


async def seed(request: web.Request) -> web.StreamResponse:
    body = orjson.loads(await request.read() or b"null")
    sim, kind = request.app[SIMULATOR], request.match_info["kind"]
    if isinstance(body, list):
        return json_response([sim.seed(kind, item) for item in body])
    if not isinstance(body, dict):
        raise invalid([Violation("", "the body must be an object or a list of objects")])
    return json_response(sim.seed(kind, body))


async def stats(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR].snapshot_stats())


async def state(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[SIMULATOR].dump())


async def reset(request: web.Request) -> web.StreamResponse:
    request.app[SIMULATOR].reset()
    return web.Response(status=204)


CONTROL_ROUTES: Final[tuple[ControlRoute, ...]] = (
    ControlRoute("POST", "/_sim/clients", register_client, "Register an API client"),
    ControlRoute(
        "POST",
        "/_sim/clients/{client_id}/reset-secret",
        reset_secret,
        "Reset a client's secret; revokes its sessions",
    ),
    ControlRoute("GET", "/_sim/limits", get_limits, "Current rate limits"),
    ControlRoute("PATCH", "/_sim/limits", set_limits, "Change rate limits (partial)", "Limits"),
    ControlRoute("GET", "/_sim/faults", get_faults, "Current fault injection"),
    ControlRoute("PATCH", "/_sim/faults", set_faults, "Change fault injection (partial)", "Faults"),
    ControlRoute("GET", "/_sim/dialect", get_dialect, "How this firm differs from the docs"),
    ControlRoute(
        "PATCH", "/_sim/dialect", set_dialect, "Change the firm's dialect (partial)", "Dialect"
    ),
    ControlRoute("PUT", "/_sim/token-lifetime", set_token_lifetime, "Lifetime of new sessions"),
    ControlRoute("POST", "/_sim/seed/{kind}", seed, "Create objects syncer did not create"),
    ControlRoute("GET", "/_sim/stats", stats, "Server-side counters"),
    ControlRoute("GET", "/_sim/state", state, "Dump state (no secrets or tokens)"),
    ControlRoute("POST", "/_sim/reset", reset, "Reset objects, sessions, buckets and stats"),
)
