"""The firm-facing API: the v2 routes as a table, and generic handlers driven by ``ResourceSpec``.

Each route is one row (method, path, handler, family); the family is the gateway route used for
per-route rate limiting. The same table feeds the app's router and the OpenAPI description, so
what is documented is what is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from aiohttp import web

from syncer.simulator.auth import Session
from syncer.simulator.core import Simulator
from syncer.simulator.errors import ApiError, invalid
from syncer.simulator.resources import (
    ADDRESSES,
    ENTITIES,
    GROUPS,
    ROLES,
    USERS,
    ResourceSpec,
    Violation,
    bind,
)
from syncer.simulator.search import SearchError, parse_search

API_PREFIX: Final = "/{firm}/ms/caseware-cloud/api/v2/"
SIMULATOR: Final = web.AppKey("simulator", Simulator)
SESSION: Final = web.RequestKey("session", Session)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def json_response(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=dumps)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    """Relative to ``API_PREFIX``, with aiohttp placeholders."""
    handler: Handler
    family: str
    summary: str
    spec: ResourceSpec | None = None
    """The resource the route reads or writes (for OpenAPI schemas)."""
    body: str | None = None
    """``object``, ``assignment:<key>`` or ``credentials``: what the request body is."""
    returns: str = "object"
    """``object``, ``list``, ``id``, ``guids``, ``token`` or ``none``."""


# -- request helpers -----------------------------------------------------------------------


def sim_of(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


def _query(request: web.Request, name: str) -> str | None:
    """Query parameters bind case-insensitively, like body fields."""
    for key, value in request.query.items():
        if key.lower() == name.lower():
            return value
    return None


def _int_param(request: web.Request, name: str) -> int | None:
    raw = _query(request, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid([Violation(name, f"{name} must be an integer")]) from None


def paging(request: web.Request) -> tuple[int, int]:
    """The store's 1-based page and its size, as the firm's dialect reads ``page``/``pageSize``."""
    return sim_of(request).dialect.page_window(
        _int_param(request, "page"), _int_param(request, "pageSize")
    )


def present(request: web.Request, spec: ResourceSpec, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A stored object as the firm's dialect shows it (its field names, its role references)."""
    sim = sim_of(request)
    return sim.dialect.present(spec, obj, lambda role_id: sim.store.guid_of(ROLES, role_id))


async def bound_body(request: web.Request, spec: ResourceSpec) -> Any:
    """The request body with the dialect's field names bound to the documented ones."""
    return sim_of(request).dialect.request_body(spec, await body_of(request))


async def body_of(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise invalid([Violation("", "the body is not valid JSON")]) from None


def _field(body: Mapping[str, Any], name: str) -> Any:
    return next((v for k, v in body.items() if str(k).lower() == name.lower()), None)


# -- handlers ------------------------------------------------------------------------------


async def issue_token(request: web.Request) -> web.StreamResponse:
    sim = sim_of(request)
    sim.stats.count("auth_calls")
    body = await body_of(request)
    if not isinstance(body, dict):
        raise invalid([Violation("", "the body must be a JSON object")])
    client_id, secret = _field(body, "ClientId"), _field(body, "ClientSecret")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise ApiError(401, "Invalid client credentials.")
    token = sim.sessions.issue(client_id, secret)
    if token is None:
        raise ApiError(401, "Invalid client credentials.")
    if sim.dialect.advertise_token_lifetime:
        return json_response({"Token": token, "ExpiresIn": sim.sessions.lifetime_seconds})
    return json_response({"Token": token})


def list_of(spec: ResourceSpec) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        page, size = paging(request)
        raw = _query(request, "search")
        sim = sim_of(request)
        try:
            condition = parse_search(raw, spec, sim.dialect) if raw is not None else None
        except SearchError as exc:
            raise invalid([Violation("search", str(exc))]) from None
        found = sim.store.page(spec, page, size, condition, order=sim.list_order())
        return json_response([present(request, spec, obj) for obj in found])

    return handler


def get_one(spec: ResourceSpec) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        found = sim_of(request).store.get(spec, request.match_info["cw_guid"])
        return json_response(present(request, spec, found))

    return handler


def create(spec: ResourceSpec) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        sim = sim_of(request)
        values, errors = bind(spec, await bound_body(request, spec), creating=True)
        if errors:
            raise invalid(errors)
        key = spec.natural_key(values)
        try:
            created = sim.store.create(spec, _with_inactive_date(sim, spec, values, {}))
        except ApiError as exc:
            if exc.status == 409:
                sim.stats.conflicted(spec.name, key)
            raise
        sim.stats.created(spec.name, key)
        return json_response(present(request, spec, created))

    return handler


def update(spec: ResourceSpec) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        sim = sim_of(request)
        values, errors = bind(spec, await bound_body(request, spec), creating=False)
        if errors:
            raise invalid(errors)
        guid = request.match_info["cw_guid"]
        dated = _with_inactive_date(sim, spec, values, sim.store.get(spec, guid))
        return json_response(present(request, spec, sim.store.update(spec, guid, dated)))

    return handler


def delete(spec: ResourceSpec) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        sim_of(request).store.delete(spec, request.match_info["cw_guid"])
        return web.Response(status=204)

    return handler


def _with_inactive_date(
    sim: Simulator, spec: ResourceSpec, values: dict[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """A user deactivated without a date keeps the date it had, else gets today's.

    Kinds without an ``InActiveDate`` field are untouched.
    """
    if spec.rule("InActiveDate") and values.get("Type") == "I" and not values.get("InActiveDate"):
        return {**values, "InActiveDate": current.get("InActiveDate") or sim.today()}
    return values


def _assignment(body: Any, members_key: str) -> tuple[list[str], bool]:
    if not isinstance(body, dict):
        raise invalid([Violation("", "the body must be a JSON object")])
    members, remove = _field(body, members_key), _field(body, "isRemove")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise invalid([Violation(members_key, f"{members_key} must be a list of CWGuids")])
    if remove is not None and not isinstance(remove, bool):
        raise invalid([Violation("isRemove", "isRemove must be true or false")])
    return members, bool(remove)


async def assign_roles(request: web.Request) -> web.StreamResponse:
    role_guids, remove = _assignment(await body_of(request), "roleIds")
    store = sim_of(request).store
    return json_response(store.assign_roles(request.match_info["cw_guid"], role_guids, remove))


async def assign_members(request: web.Request) -> web.StreamResponse:
    user_guids, remove = _assignment(await body_of(request), "people")
    store = sim_of(request).store
    return json_response(store.assign_members(request.match_info["cw_guid"], user_guids, remove))


async def list_members(request: web.Request) -> web.StreamResponse:
    if not sim_of(request).dialect.members_readable:
        raise ApiError(405, "The method is not allowed for the requested URL.")
    page, size = paging(request)
    store = sim_of(request).store
    return json_response(store.member_guids(request.match_info["cw_guid"], page, size))


async def list_addresses(request: web.Request) -> web.StreamResponse:
    page, size = paging(request)
    store = sim_of(request).store
    entity = store.get(ENTITIES, request.match_info["cw_guid"])
    return json_response(store.addresses_of(entity, page, size))


async def create_address(request: web.Request) -> web.StreamResponse:
    store = sim_of(request).store
    entity = store.get(ENTITIES, request.match_info["cw_guid"])
    values, errors = bind(ADDRESSES, await body_of(request), creating=True)
    if errors:
        raise invalid(errors)
    return json_response(store.create(ADDRESSES, values, owner=entity)["Id"])


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "POST",
        "auth/token",
        issue_token,
        "auth",
        "Open a session",
        body="credentials",
        returns="token",
    ),
    Route(
        "GET", "entities", list_of(ENTITIES), "entities", "List entities", ENTITIES, returns="list"
    ),
    Route(
        "POST",
        "entities",
        create(ENTITIES),
        "entities",
        "Create an entity",
        ENTITIES,
        body="object",
    ),
    Route("GET", "entities/{cw_guid}", get_one(ENTITIES), "entities", "Get an entity", ENTITIES),
    Route(
        "PATCH",
        "entities/{cw_guid}",
        update(ENTITIES),
        "entities",
        "Update an entity",
        ENTITIES,
        body="object",
    ),
    Route(
        "GET",
        "entities/{cw_guid}/addresses",
        list_addresses,
        "entities",
        "List an entity's addresses",
        ADDRESSES,
        returns="list",
    ),
    Route(
        "POST",
        "entities/{cw_guid}/addresses",
        create_address,
        "entities",
        "Add an address to an entity",
        ADDRESSES,
        body="object",
        returns="id",
    ),
    Route(
        "PATCH",
        "entities/addresses/{cw_guid}",
        update(ADDRESSES),
        "entities",
        "Update an address",
        ADDRESSES,
        body="object",
    ),
    Route("GET", "users", list_of(USERS), "users", "List users", USERS, returns="list"),
    Route("POST", "users", create(USERS), "users", "Create a user", USERS, body="object"),
    Route("GET", "users/{cw_guid}", get_one(USERS), "users", "Get a user", USERS),
    Route(
        "PATCH", "users/{cw_guid}", update(USERS), "users", "Update a user", USERS, body="object"
    ),
    Route(
        "DELETE", "users/{cw_guid}", delete(USERS), "users", "Delete a user", USERS, returns="none"
    ),
    Route(
        "PATCH",
        "users/{cw_guid}/role-assignments",
        assign_roles,
        "users",
        "Add or remove firm-wide roles",
        USERS,
        body="assignment:roleIds",
    ),
    Route("GET", "roles", list_of(ROLES), "roles", "List roles", ROLES, returns="list"),
    Route("GET", "roles/{cw_guid}", get_one(ROLES), "roles", "Get a role", ROLES),
    Route("GET", "groups", list_of(GROUPS), "groups", "List groups", GROUPS, returns="list"),
    Route("POST", "groups", create(GROUPS), "groups", "Create a group", GROUPS, body="object"),
    Route("GET", "groups/{cw_guid}", get_one(GROUPS), "groups", "Get a group", GROUPS),
    Route(
        "PATCH",
        "groups/{cw_guid}",
        update(GROUPS),
        "groups",
        "Update a group",
        GROUPS,
        body="object",
    ),
    Route(
        "DELETE",
        "groups/{cw_guid}",
        delete(GROUPS),
        "groups",
        "Delete a group",
        GROUPS,
        returns="none",
    ),
    Route(
        "PATCH",
        "groups/{cw_guid}/user-assignments",
        assign_members,
        "groups",
        "Add or remove group members",
        GROUPS,
        body="assignment:people",
    ),
    Route(
        "GET",
        "groups/{cw_guid}/user-assignments",
        list_members,
        "groups",
        "List the CWGuids of a group's members",
        GROUPS,
        returns="guids",
    ),
)
