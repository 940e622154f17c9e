"""``CloudClient``: typed operations on the Caseware Cloud API, driven by ``syncer.model``.

One client per API client (id + secret): it owns the process's aiohttp session for that client,
its rate limiters (one per bucket the server keeps, ``syncer.cloud.keying``), the session pool and
the request pipeline. Every worker of a run shares it, which is what lets the limiters see (and
pace) all of that client's traffic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote

from syncer import masking
from syncer.assumptions import ApiSettings, FieldNames
from syncer.clock import Clock, SystemClock
from syncer.cloud.answers import (
    child_answer,
    child_object,
    decode_response,
    remote_object,
)
from syncer.cloud.in_flight import InFlightTarget
from syncer.cloud.keying import Limiters
from syncer.cloud.latency import LatencyTracker, Timed, WireFigures
from syncer.cloud.paging import PageBounds, PagingStats, read_pages
from syncer.cloud.pipeline import (
    ApiRequest,
    Authenticated,
    ClientStats,
    FreshToken,
    RateLimited,
    Retrying,
    RetryPolicy,
    Sender,
)
from syncer.cloud.ratelimit import LimiterStats, RateLimiter
from syncer.cloud.sessions import SessionPool
from syncer.cloud.shapes import (
    checked_guid,
    checked_list,
    field_of,
)
from syncer.cloud.tokens import AUTH_PATH, TokenIssuer
from syncer.cloud.transport import SharedHttp, http_transport
from syncer.cloud.unordered import read_whole
from syncer.model import ROLES_PATH, ChildKind, ObjectKind, RelationKind
from syncer.settings import CloudSettings
from syncer.state import RemoteObject

__all__ = [
    "AUTH_PATH",
    "CloudClient",
    "TokenIssuer",
    "child_answer",
    "child_object",
    "remote_object",
    "segment",
]

T = TypeVar("T")


def segment(value: str) -> str:
    """``value`` quoted as one path segment: whatever it holds, it cannot reach another path."""
    return quote(value, safe="")


class CloudClient:
    def __init__(
        self,
        sender: Sender,
        settings: CloudSettings,
        limiters: Limiters,
        stats: ClientStats,
        latencies: LatencyTracker | None = None,
    ) -> None:
        self._sender = sender
        self._settings = settings
        self._limiters = limiters
        self._stats = stats
        self.latencies = latencies or LatencyTracker()
        """Latency per route family, measured from this client's responses."""
        self.in_flight_target = InFlightTarget(
            lambda: limiters.stats, self.latencies, settings.max_in_flight
        )
        """Requests to keep in flight per family: sizes page windows and apply's workers."""
        self.paging = PagingStats()
        self._renames: dict[str, FieldNames] = {}

    def __repr__(self) -> str:
        return f"CloudClient(api_root={self._settings.api_root!r})"

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: CloudSettings,
        *,
        clock: Clock | None = None,
        http: SharedHttp | None = None,
    ) -> AsyncIterator[CloudClient]:
        """A client with its own limiters and session pool, closed on exit; its aiohttp session
        is its own too, or ``http``'s for the API's origin (a worker's, shared by its firms)."""
        stats = ClientStats()
        async with http_transport(settings, stats, settings.max_in_flight, http) as transport:
            yield cls.over(transport, settings, stats, clock=clock)

    @classmethod
    def over(
        cls,
        transport: Sender,
        settings: CloudSettings,
        stats: ClientStats,
        *,
        clock: Clock | None = None,
    ) -> CloudClient:
        """The client's request stack (limiters, session pool, retries) on top of ``transport``,
        the one exchange of a request and its response: HTTP in ``open``, anything in tests."""
        clock = clock or SystemClock()
        masking.remember(settings.client_secret.get_secret_value())
        limiters = Limiters(
            settings.api.ratelimit_keying,
            lambda: RateLimiter(clock, retry_after_cap=settings.retry_after_cap_seconds),
        )
        policy = RetryPolicy(max_retries=settings.max_retries)
        latencies = LatencyTracker()
        timed = Timed(transport, clock, latencies)
        names = settings.api.ratelimit_headers
        limited = RateLimited(timed, limiters, clock, settings.max_throttled_seconds, names)
        # Where auth/token costs no token, waiting for one would only slow a renewal down.
        to_auth = limited if settings.api.auth_limited else timed
        pool = SessionPool(
            TokenIssuer(Retrying(to_auth, policy, clock, stats), settings, stats),
            clock,
            lifetime=settings.api.token_lifetime_seconds,
            renew_margin=settings.renew_margin_seconds,
            size=settings.pool_size,
        )
        # The last check before a request leaves: a token refused while it waited is not sent.
        checked = RateLimited(
            FreshToken(timed, pool), limiters, clock, settings.max_throttled_seconds, names
        )
        sender = Retrying(Authenticated(checked, pool), policy, clock, stats)
        return cls(sender, settings, limiters, stats, latencies)

    @property
    def api(self) -> ApiSettings:
        """What this firm's API is assumed to do (``[cloud.api]``)."""
        return self._settings.api

    @property
    def stats(self) -> ClientStats:
        return self._stats

    @property
    def limiter_stats(self) -> LimiterStats:
        return self._limiters.stats

    def wire_figures(self) -> WireFigures:
        return WireFigures(self.latencies.summary(), self.paging.past_end)

    def write_target(self) -> int:
        return self.in_flight_target.for_writes()

    # -- objects -------------------------------------------------------------------------------

    async def list_objects(
        self, kind: ObjectKind, *, expected: int | None = None
    ) -> list[RemoteObject]:
        """Every object of ``kind``; ``expected`` (how many there should be, from desired
        state) keeps the read from guessing pages past them (``syncer.cloud.paging``)."""
        return await self._list_objects(kind.api_path, kind.name, expected=expected)

    async def find_by_key(self, kind: ObjectKind, key: str) -> RemoteObject | None:
        """The object whose natural key is ``key`` (compared as the kind compares keys)."""
        wanted = kind.normalise_key(key)
        names = self._names_of(kind.name)
        search = f"{names.outgoing(kind.key_field)}={self.api.quote(key.strip())}"
        where = f"GET {kind.api_path}"
        found = await self._pages(
            kind.api_path,
            lambda obj: remote_object(obj, kind.api_path, where, names),
            {"search": search},
            small=True,
        )
        for candidate in found:
            if kind.normalise_key(str(field_of(candidate.fields, kind.key_field) or "")) == wanted:
                return candidate
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
        """The firm's roles: a few dozen at most, so one page in flight until the first comes
        back full (a window's guesses past the end cost three requests of every run)."""
        return await self._list_objects(ROLES_PATH, ROLES_PATH, small=True)

    # -- children (addresses) ------------------------------------------------------------------

    async def list_children(self, kind: ChildKind, parent_cwguid: str) -> list[RemoteObject]:
        path = kind.list_path.format(id=segment(parent_cwguid))
        where = f"GET {path}"
        # A client has an address or two: one page in flight.
        return await self._pages(path, lambda obj: child_object(kind, where, obj), small=True)

    async def create_child(
        self, kind: ChildKind, parent_cwguid: str, body: Mapping[str, object]
    ) -> int | RemoteObject:
        """The new child's ``Id``: the API answers a bare integer [observed], not the object
        (an object, should it ever answer one, is taken as it is once it keeps the promises)."""
        path = kind.create_path.format(id=segment(parent_cwguid))
        return child_answer(kind, f"POST {path}", await self._call("POST", path, json=dict(body)))

    async def update_child(self, kind: ChildKind, cwguid: str, body: Mapping[str, object]) -> None:
        path = kind.update_path.format(id=segment(cwguid))
        child_object(kind, f"PATCH {path}", await self._call("PATCH", path, json=dict(body)))

    # -- assignments ---------------------------------------------------------------------------

    async def list_members(self, relation: RelationKind, parent_cwguid: str) -> list[str]:
        if relation.read_path is None:
            raise ValueError(f"{relation.name} members are read from the parent object")
        path = relation.read_path.format(id=segment(parent_cwguid))
        where = f"GET {path}"
        return await self._pages(path, lambda member: checked_guid(where, member), small=True)

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

    def _names_of(self, kind_name: str) -> FieldNames:
        """The firm's field renames of ``kind_name``, built once per kind, not per request."""
        names = self._renames.get(kind_name)
        if names is None:
            names = self._renames[kind_name] = self.api.renames(kind_name)
        return names

    async def _object(
        self,
        method: str,
        path: str,
        kind: ObjectKind,
        body: Mapping[str, object] | None = None,
    ) -> RemoteObject:
        names = self._names_of(kind.name)
        json = None if body is None else names.to_firm(body)
        answer = await self._call(method, path, json=json)
        return remote_object(answer, path, f"{method} {path}", names)

    async def _list_objects(
        self, path: str, kind_name: str, *, small: bool = False, expected: int | None = None
    ) -> list[RemoteObject]:
        where, names = f"GET {path}", self._names_of(kind_name)
        return await self._pages(
            path,
            lambda obj: remote_object(obj, path, where, names),
            small=small,
            expected=expected,
        )

    async def _pages(
        self,
        path: str,
        item: Callable[[object], T],
        params: Mapping[str, str] | None = None,
        *,
        small: bool = False,
        expected: int | None = None,
    ) -> list[T]:
        """Every item of a list, each made by ``item`` as its page arrives (so a broken promise
        is named for the page that broke it), until a short or empty page; pages are read
        through a window of pages in flight (``syncer.cloud.paging``); ``small`` for lists
        expected to fit one page (a search, one group's members), ``expected`` for a list
        expected to hold that many items. A page that repeats the one before, or more pages
        than ``cloud.max_pages``, end the read as a broken promise. A firm whose lists keep no
        order across pages has them read until each object was seen
        (``syncer.cloud.unordered``)."""
        size = self.api.page_size(self._settings.page_size)
        first = self.api.first_page
        family, where = path.split("/", 1)[0], f"GET {path}"

        async def fetch(number: int) -> list[T]:
            query = {**(params or {}), "page": str(first + number - 1), "pageSize": str(size)}
            return [
                item(obj)
                for obj in checked_list(where, await self._call("GET", path, params=query))
            ]

        def window(needed: bool) -> int:
            return self.in_flight_target.for_pages(family, needed=needed)

        async def read_once() -> list[T]:
            pages = await read_pages(
                fetch,
                PageBounds(size, self._settings.max_pages, where),
                window,
                self.paging,
                small=small,
                learning=self.latencies.listening,
                expected_items=expected,
            )
            return [obj for page in pages for obj in page]

        if self.api.stable_order:
            return await read_once()
        return await read_whole(read_once, where)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
    ) -> Any:
        response = await self._sender.send(ApiRequest(method, path, params or {}, json))
        return decode_response(method, path, response, self.api.not_found)
