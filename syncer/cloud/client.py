"""``CloudClient``: typed operations on the Caseware Cloud API, driven by ``syncer.model``.

One client per API client (id + secret): it owns the process's aiohttp session for that client,
the one shared rate limiter, the session pool and the request pipeline. Every worker of a run
shares it, which is what lets the limiter see (and pace) all of that client's traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from syncer import masking
from syncer.assumptions import ApiSettings, FieldNames
from syncer.clock import Clock, SystemClock
from syncer.cloud.errors import ApiError, extract_message, rejection_for
from syncer.cloud.pipeline import (
    ApiRequest,
    ApiResponse,
    Authenticated,
    ClientStats,
    FreshToken,
    HttpSender,
    RateLimited,
    Retrying,
    RetryPolicy,
    Sender,
)
from syncer.cloud.ratelimit import LimiterStats, RateLimiter
from syncer.cloud.sessions import SessionPool
from syncer.cloud.shapes import (
    TOKEN_RULES,
    broken,
    checked_guids,
    checked_list,
    checked_object,
    field_of,
    object_rules,
)
from syncer.errors import CloudUnreachable, CredentialsRejected
from syncer.model import ROLES_PATH, ObjectKind, RelationKind
from syncer.settings import CloudSettings
from syncer.state import RemoteObject

AUTH_PATH = "auth/token"
NO_RENAMES = FieldNames({})


def segment(value: str) -> str:
    """``value`` quoted as one path segment: whatever it holds, it cannot reach another path."""
    return quote(value, safe="")


def remote_object(
    obj: object, path: str = "", where: str = "", names: FieldNames = NO_RENAMES
) -> RemoteObject:
    """An object of ``path`` (e.g. ``users``), once it is seen to keep the API's promises, its
    fields under their documented names (``names`` undoes the firm's renames)."""
    checked = checked_object(where or path or "response", obj, object_rules(path))
    fields = names.from_firm(checked)
    num_id = field_of(fields, "Id")
    return RemoteObject(
        cwguid=str(field_of(fields, "CWGuid")),
        id=num_id if isinstance(num_id, int) else None,
        fields=fields,
    )


class CloudClient:
    def __init__(
        self, sender: Sender, settings: CloudSettings, limiter: RateLimiter, stats: ClientStats
    ) -> None:
        self._sender = sender
        self._settings = settings
        self._limiter = limiter
        self._stats = stats

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
        timeout = aiohttp.ClientTimeout(
            total=settings.request_timeout_seconds, connect=settings.connect_timeout_seconds
        )
        stats = ClientStats()
        async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as http:
            transport = HttpSender(
                http,
                settings.api_root,
                stats,
                settings.max_in_flight,
                settings.max_response_bytes,
            )
            yield cls.over(transport, settings, stats, clock=clock, limiter=limiter)

    @classmethod
    def over(
        cls,
        transport: Sender,
        settings: CloudSettings,
        stats: ClientStats,
        *,
        clock: Clock | None = None,
        limiter: RateLimiter | None = None,
    ) -> CloudClient:
        """The client's request stack (limiter, session pool, retries) on top of ``transport``,
        the one exchange of a request and its response: HTTP in ``open``, anything in tests."""
        clock = clock or SystemClock()
        masking.remember(settings.client_secret.get_secret_value())
        limiter = limiter or RateLimiter(clock, retry_after_cap=settings.retry_after_cap_seconds)
        policy = RetryPolicy(max_retries=settings.max_retries)
        limited = RateLimited(transport, limiter, clock, settings.max_throttled_seconds)
        # Where auth/token costs no token, waiting for one would only slow a renewal down.
        to_auth = limited if settings.api.auth_limited else transport
        pool = SessionPool(
            TokenIssuer(Retrying(to_auth, policy, clock, stats), settings, stats),
            clock,
            lifetime=settings.token_lifetime_seconds,
            renew_margin=settings.renew_margin_seconds,
            size=settings.pool_size,
        )
        # The last check before a request leaves: a token refused while it waited is not sent.
        checked = RateLimited(
            FreshToken(transport, pool), limiter, clock, settings.max_throttled_seconds
        )
        sender = Retrying(Authenticated(checked, pool), policy, clock, stats)
        return cls(sender, settings, limiter, stats)

    @property
    def api(self) -> ApiSettings:
        """What this firm's API is assumed to do (``[cloud.api]``)."""
        return self._settings.api

    @property
    def stats(self) -> ClientStats:
        return self._stats

    @property
    def limiter_stats(self) -> LimiterStats:
        return self._limiter.stats

    # -- objects -------------------------------------------------------------------------------

    async def list_objects(self, kind: ObjectKind) -> list[RemoteObject]:
        return await self._list_objects(kind.api_path, kind.name)

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None:
        """The object whose natural key is ``key`` (compared as the kind compares keys)."""
        wanted = kind.normalise_key(key)
        names = self.api.renames(kind.name)
        search = f"{names.outgoing(kind.key_field)}={self.api.quote(key.strip())}"
        async for page in self._pages(kind.api_path, {"search": search}):
            for obj in page:
                found = remote_object(obj, kind.api_path, f"GET {kind.api_path}", names)
                if kind.normalise_key(str(field_of(found.fields, kind.key_field) or "")) == wanted:
                    return found
        return None

    async def get(self, kind: ObjectKind, cwguid: str) -> RemoteObject:
        return await self._object("GET", f"{kind.api_path}/{segment(cwguid)}", kind)

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject:
        return await self._object("POST", kind.api_path, kind, body)

    async def update(
        self, kind: ObjectKind, cwguid: str, body: Mapping[str, object]
    ) -> RemoteObject:
        return await self._object("PATCH", f"{kind.api_path}/{segment(cwguid)}", kind, body)

    async def delete(self, kind: ObjectKind, cwguid: str) -> None:
        await self._call("DELETE", f"{kind.api_path}/{segment(cwguid)}")

    async def list_roles(self) -> list[RemoteObject]:
        return await self._list_objects(ROLES_PATH, ROLES_PATH)

    # -- assignments ---------------------------------------------------------------------------

    async def list_members(self, relation: RelationKind, parent_cwguid: str) -> list[str]:
        if relation.read_path is None:
            raise ValueError(f"{relation.name} members are read from the parent object")
        path = relation.read_path.format(id=segment(parent_cwguid))
        return [
            member
            async for page in self._pages(path)
            for member in checked_guids(f"GET {path}", page)
        ]

    async def change_members(
        self,
        relation: RelationKind,
        parent_cwguid: str,
        member_ids: Sequence[str],
        *,
        remove: bool,
    ) -> None:
        """Add or remove members in batches of ``relation.batch_size``, one PATCH per batch."""
        path = relation.assign_path.format(id=segment(parent_cwguid))
        for start in range(0, len(member_ids), relation.batch_size):
            batch = list(member_ids[start : start + relation.batch_size])
            body = {relation.members_body_key: batch, "isRemove": remove}
            await self._call("PATCH", path, json=body)

    # -- plumbing ------------------------------------------------------------------------------

    async def _object(
        self,
        method: str,
        path: str,
        kind: ObjectKind,
        body: Mapping[str, object] | None = None,
    ) -> RemoteObject:
        names = self.api.renames(kind.name)
        json = None if body is None else names.to_firm(body)
        answer = await self._call(method, path, json=json)
        return remote_object(answer, path, f"{method} {path}", names)

    async def _list_objects(self, path: str, kind_name: str) -> list[RemoteObject]:
        where, names = f"GET {path}", self.api.renames(kind_name)
        return [
            remote_object(obj, path, where, names)
            async for page in self._pages(path)
            for obj in page
        ]

    async def _pages(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[list[Any]]:
        """Every page of a list, until a short or empty page (a page past the end is ``[]``).

        A server that answers the same full page again, or more pages than ``max_pages``, would
        otherwise be read forever: both end the read as a broken promise.
        """
        size = self.api.page_size(self._settings.page_size)
        first = self.api.first_page
        previous: list[Any] | None = None
        for page in range(first, first + self._settings.max_pages):
            query = {**(params or {}), "page": str(page), "pageSize": str(size)}
            items = checked_list(f"GET {path}", await self._call("GET", path, params=query))
            if items and items == previous:
                raise broken(f"GET {path}", f"page {page} repeats page {page - 1}")
            if items:
                yield items
            if len(items) < size:
                return
            previous = items
        raise broken(f"GET {path}", f"more than {self._settings.max_pages} pages (cloud.max_pages)")

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
    """The JSON body of a success; the matching ``ApiError`` (with the API's message) for a 4xx
    or 5xx; ``CloudContractBroken`` for any other status or a success that is not JSON."""
    status = response.status
    if 400 <= status < 500:
        message = extract_message(status, response.body)
        raise rejection_for(status)(status, message, method, path)
    if 500 <= status < 600:
        raise ApiError(status, extract_message(status, response.body), method, path)
    if not 200 <= status < 300:
        raise broken(f"{method} {path}", f"status {status}")
    if not response.body:
        return None
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise broken(f"{method} {path}", f"status {status} with a body that is not JSON") from None


class TokenIssuer:
    """Fetches bearer tokens with the client id and secret (one ``auth/token`` call each)."""

    def __init__(self, sender: Sender, settings: CloudSettings, stats: ClientStats) -> None:
        self._sender = sender
        self._settings = settings
        self._stats = stats

    def __repr__(self) -> str:
        return f"TokenIssuer(client_id={self._settings.client_id!r})"

    async def __call__(self) -> str:
        token, _ = await self.issue()
        return token

    async def issue(self) -> tuple[str, ApiResponse]:
        """A new session's token and the answer that carried it (``syncer probe`` reads that)."""
        self._stats.auth_calls += 1
        credentials = {
            "ClientId": self._settings.client_id,
            "ClientSecret": self._settings.client_secret.get_secret_value(),
            "Language": "en",
        }
        request = ApiRequest("POST", AUTH_PATH, json=credentials, retry_safe=True)
        response = await self._sender.send(request)
        refuse_failed_auth(response.status)
        decoded = decode_response("POST", AUTH_PATH, response)
        body = checked_object(f"POST {AUTH_PATH}", decoded, TOKEN_RULES)
        token: str = field_of(body, "Token")
        masking.remember(token)
        return token, response


def refuse_failed_auth(status: int) -> None:
    """Any 4xx from ``auth/token`` refuses the client (77); a 5xx or 429 that outlived the retries
    means Cloud is not serving (69). Either ends the run: a row is never blamed for it."""
    if 400 <= status < 500 and status != 429:
        raise CredentialsRejected(
            f"Cloud refused the API client's credentials ({AUTH_PATH} answered {status}); "
            "check cloud.client_id and the client secret"
        )
    if status >= 500 or status == 429:
        raise CloudUnreachable(f"Cloud is not serving: {AUTH_PATH} answered {status}")
