"""``CloudClient``: typed operations on the Caseware Cloud API, driven by ``syncer.model``.

One client per API client (id + secret): it owns the process's aiohttp session for that client,
the one shared rate limiter, the session pool and the request pipeline. Every worker of a run
shares it, which is what lets the limiter see (and pace) all of that client's traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from syncer.clock import Clock, SystemClock
from syncer.cloud.concurrency import InFlightTarget
from syncer.cloud.errors import ApiError, extract_message, rejection_for
from syncer.cloud.latency import LatencyTracker, Timed, WireFigures
from syncer.cloud.paging import PagingStats, read_pages
from syncer.cloud.pipeline import (
    ApiRequest,
    ApiResponse,
    Authenticated,
    ClientStats,
    HttpSender,
    RateLimited,
    Retrying,
    RetryPolicy,
    Sender,
)
from syncer.cloud.ratelimit import LimiterStats, RateLimiter
from syncer.cloud.sessions import SessionPool
from syncer.errors import CredentialsRejected
from syncer.model import ROLES_PATH, ObjectKind, RelationKind
from syncer.settings import CloudSettings
from syncer.state import RemoteObject

AUTH_PATH = "auth/token"
REFUSED_CREDENTIALS = frozenset({400, 401, 403})


def quote_search_value(value: str) -> str:
    """A string literal for ``search=``: single quotes, a quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def field_of(obj: Mapping[str, Any], name: str) -> Any:
    """A field by name, tolerating a different letter case in the response."""
    if name in obj:
        return obj[name]
    folded = name.casefold()
    return next((v for k, v in obj.items() if k.casefold() == folded), None)


def remote_object(obj: object) -> RemoteObject:
    if not isinstance(obj, Mapping):
        raise ApiError(200, f"expected an object, got {type(obj).__name__}", "GET", "")
    num_id = field_of(obj, "Id")
    return RemoteObject(
        cwguid=str(field_of(obj, "CWGuid")),
        id=num_id if isinstance(num_id, int) else None,
        fields=dict(obj),
    )


class CloudClient:
    def __init__(
        self,
        sender: Sender,
        settings: CloudSettings,
        limiter: RateLimiter,
        stats: ClientStats,
        latencies: LatencyTracker | None = None,
    ) -> None:
        self._sender = sender
        self._settings = settings
        self._limiter = limiter
        self._stats = stats
        self.latencies = latencies or LatencyTracker()
        """Latency per route family, measured from this client's responses."""
        self.in_flight_target = InFlightTarget(
            lambda: limiter.stats, self.latencies, settings.max_in_flight
        )
        """Requests to keep in flight per family: sizes page windows and apply's workers."""
        self.paging = PagingStats()

    def __repr__(self) -> str:
        return f"CloudClient(api_root={self._settings.api_root!r})"

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: CloudSettings,
        *,
        clock: Clock | None = None,
        limiter: RateLimiter | None = None,
    ) -> AsyncIterator[CloudClient]:
        """A client with its own aiohttp session, limiter and session pool, closed on exit."""
        clock = clock or SystemClock()
        limiter = limiter or RateLimiter(clock, retry_after_cap=settings.retry_after_cap_seconds)
        timeout = aiohttp.ClientTimeout(
            total=settings.request_timeout_seconds, connect=settings.connect_timeout_seconds
        )
        stats = ClientStats()
        latencies = LatencyTracker()
        policy = RetryPolicy(max_retries=settings.max_retries)
        connector = aiohttp.TCPConnector(limit=settings.max_in_flight)
        async with aiohttp.ClientSession(
            timeout=timeout, raise_for_status=False, connector=connector
        ) as http:
            http_sender = HttpSender(http, settings.api_root, stats, settings.max_in_flight)
            limited = RateLimited(Timed(http_sender, clock, latencies), limiter)
            pool = SessionPool(
                TokenIssuer(Retrying(limited, policy, clock, stats), settings, stats),
                clock,
                lifetime=settings.token_lifetime_seconds,
                renew_margin=settings.renew_margin_seconds,
                size=settings.pool_size,
            )
            sender = Retrying(Authenticated(limited, pool), policy, clock, stats)
            yield cls(sender, settings, limiter, stats, latencies)

    @property
    def stats(self) -> ClientStats:
        return self._stats

    @property
    def limiter_stats(self) -> LimiterStats:
        return self._limiter.stats

    def wire_figures(self) -> WireFigures:
        return WireFigures(self.latencies.summary(), self.paging.past_end)

    def write_target(self) -> int:
        return self.in_flight_target.for_writes()

    # -- objects -------------------------------------------------------------------------------

    async def list_objects(self, kind: ObjectKind) -> list[RemoteObject]:
        pages = await self._pages(kind.api_path)
        return [remote_object(obj) for page in pages for obj in page]

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None:
        """The object whose natural key is ``key`` (compared as the kind compares keys)."""
        wanted = kind.normalise_key(key)
        search = f"{kind.key_field}={quote_search_value(key.strip())}"
        for page in await self._pages(kind.api_path, {"search": search}, small=True):
            for obj in page:
                found = remote_object(obj)
                if kind.normalise_key(str(field_of(found.fields, kind.key_field) or "")) == wanted:
                    return found
        return None

    async def get(self, kind: ObjectKind, cwguid: str) -> RemoteObject:
        return remote_object(await self._call("GET", f"{kind.api_path}/{cwguid}"))

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject:
        return remote_object(await self._call("POST", kind.api_path, json=dict(body)))

    async def update(
        self, kind: ObjectKind, cwguid: str, body: Mapping[str, object]
    ) -> RemoteObject:
        return remote_object(
            await self._call("PATCH", f"{kind.api_path}/{cwguid}", json=dict(body))
        )

    async def delete(self, kind: ObjectKind, cwguid: str) -> None:
        await self._call("DELETE", f"{kind.api_path}/{cwguid}")

    async def list_roles(self) -> list[RemoteObject]:
        return [remote_object(obj) for page in await self._pages(ROLES_PATH) for obj in page]

    # -- assignments ---------------------------------------------------------------------------

    async def list_members(self, relation: RelationKind, parent_cwguid: str) -> list[str]:
        if relation.read_path is None:
            raise ValueError(f"{relation.name} members are read from the parent object")
        path = relation.read_path.format(id=parent_cwguid)
        return [str(member) for page in await self._pages(path, small=True) for member in page]

    async def change_members(
        self,
        relation: RelationKind,
        parent_cwguid: str,
        member_ids: Sequence[str],
        *,
        remove: bool,
    ) -> None:
        """Add or remove members in batches of ``relation.batch_size``, one PATCH per batch."""
        path = relation.assign_path.format(id=parent_cwguid)
        for start in range(0, len(member_ids), relation.batch_size):
            batch = list(member_ids[start : start + relation.batch_size])
            body = {relation.members_body_key: batch, "isRemove": remove}
            await self._call("PATCH", path, json=body)

    # -- plumbing ------------------------------------------------------------------------------

    async def _pages(
        self, path: str, params: Mapping[str, str] | None = None, *, small: bool = False
    ) -> list[list[Any]]:
        """Every page of a list, until a short or empty page (a page past the end is ``[]``),
        read through a window of pages in flight (``syncer.cloud.paging``); ``small`` for lists
        expected to fit one page (a search, one group's members)."""
        size = self._settings.page_size
        family = path.split("/", 1)[0]

        async def fetch(page: int) -> list[Any]:
            query = {**(params or {}), "page": str(page), "pageSize": str(size)}
            items = await self._call("GET", path, params=query)
            if not isinstance(items, list):
                raise ApiError(200, "expected a list", "GET", path)
            return items

        def window() -> int:
            return self.in_flight_target.for_pages(family)

        return await read_pages(
            fetch, size, window, self.paging, small=small, learning=self.latencies.listening
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
    ) -> Any:
        response = await self._sender.send(ApiRequest(method, path, params or {}, json))
        return decode_response(method, path, response)


def decode_response(method: str, path: str, response: ApiResponse) -> Any:
    """The JSON body of a success; the matching ``ApiError`` (with the API's message) otherwise."""
    if 400 <= response.status < 500:
        message = extract_message(response.status, response.body)
        raise rejection_for(response.status)(response.status, message, method, path)
    if response.status >= 500:
        message = extract_message(response.status, response.body)
        raise ApiError(response.status, message, method, path)
    if not response.body:
        return None
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        message = "response is not JSON: " + extract_message(200, response.body)
        raise ApiError(response.status, message, method, path) from None


class TokenIssuer:
    """Fetches bearer tokens with the client id and secret (one ``auth/token`` call each)."""

    def __init__(self, sender: Sender, settings: CloudSettings, stats: ClientStats) -> None:
        self._sender = sender
        self._settings = settings
        self._stats = stats

    def __repr__(self) -> str:
        return f"TokenIssuer(client_id={self._settings.client_id!r})"

    async def __call__(self) -> str:
        self._stats.auth_calls += 1
        credentials = {
            "ClientId": self._settings.client_id,
            "ClientSecret": self._settings.client_secret.get_secret_value(),
            "Language": "en",
        }
        request = ApiRequest("POST", AUTH_PATH, json=credentials, retry_safe=True)
        response = await self._sender.send(request)
        if response.status in REFUSED_CREDENTIALS:
            raise CredentialsRejected(
                f"Cloud refused the API client's credentials ({AUTH_PATH} answered "
                f"{response.status}); check cloud.client_id and the client secret"
            )
        body = decode_response("POST", AUTH_PATH, response)
        token = field_of(body, "Token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise ApiError(response.status, "no Token in the response", "POST", AUTH_PATH)
        return token
