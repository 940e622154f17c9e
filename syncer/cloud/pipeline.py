"""The request path as a stack of small senders, each with one job (as httpx layers transports).

``Retrying`` -> ``Authenticated`` -> ``RateLimited`` -> ``HttpSender``

* ``HttpSender`` makes one HTTP exchange through the process's aiohttp session and classifies a
  failure as "certainly not sent" (connect failed) or "maybe sent" (the connection broke later).
* ``RateLimited`` waits for the shared limiter, reports every response's headers back to it and
  sends again after a 429. Waiting here never spends a request's retry budget.
* ``Authenticated`` adds the bearer token; on a 401 it fetches one fresh token and sends once more.
* ``Retrying`` retries idempotent requests on 5xx and connection trouble with capped, jittered
  backoff. A create (POST) is never retried blindly: when it may have been applied it raises
  ``OutcomeUnknown`` and the apply engine looks the object up by its natural key instead.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

import aiohttp
import anyio

from syncer.clock import Clock
from syncer.cloud.errors import ApiError, OutcomeUnknown
from syncer.cloud.headers import parse_rate_headers
from syncer.cloud.ratelimit import RateLimiter
from syncer.cloud.sessions import SessionPool
from syncer.errors import CloudUnreachable, CredentialsRejected

IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
MAX_THROTTLED_RESENDS = 1000
"""A request refused this many times in a row means the limiter is lost; fail it loudly."""


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One API call. ``path`` is relative to the API root; the body and the bearer token are kept
    out of the repr because either may carry a secret."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: object = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    retry_safe: bool = False
    """Safe to send twice although not idempotent by method (a second ``auth/token`` session is
    harmless)."""

    @property
    def family(self) -> str:
        """The route family (``entities``, ``users``, ``auth``...): the server may keep a bucket
        per family, so the limiter models them apart when it sees evidence of that."""
        return self.path.split("/", 1)[0]

    @property
    def idempotent(self) -> bool:
        return self.retry_safe or self.method in IDEMPOTENT


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Sender(Protocol):
    async def send(self, request: ApiRequest) -> ApiResponse: ...


class ConnectionTrouble(Exception):
    """No response arrived. ``maybe_sent`` is False only when the connection never opened."""

    def __init__(self, request: ApiRequest, cause: BaseException, *, maybe_sent: bool) -> None:
        super().__init__(f"{request.method} {request.path}: {type(cause).__name__}: {cause}")
        self.maybe_sent = maybe_sent


@dataclass(slots=True)
class ClientStats:
    """What one client did, for run history, metrics and benchmarks."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    retries: int = 0
    auth_calls: int = 0
    in_flight: int = 0
    """Exchanges on the wire now (sent, neither answered nor failed nor cancelled yet)."""
    peak_in_flight: int = 0

    @property
    def throttled(self) -> int:
        return self.by_status[429]

    @property
    def unauthorized(self) -> int:
        return self.by_status[401]


class HttpSender:
    """One HTTP exchange, at most ``max_in_flight`` at a time across the client."""

    def __init__(
        self, http: aiohttp.ClientSession, api_root: str, stats: ClientStats, max_in_flight: int
    ) -> None:
        self._http = http
        self._api_root = api_root
        self._stats = stats
        self._in_flight = anyio.CapacityLimiter(max_in_flight)

    async def send(self, request: ApiRequest) -> ApiResponse:
        headers = {"Accept": "application/json"}
        if request.bearer is not None:
            headers["Authorization"] = f"Bearer {request.bearer}"
        async with self._in_flight:
            self._stats.requests += 1
            self._stats.in_flight += 1
            self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)
            try:
                async with self._http.request(
                    request.method,
                    self._api_root + request.path,
                    params=dict(request.params) or None,
                    json=request.json,
                    headers=headers,
                ) as response:
                    body = await response.read()
            except aiohttp.ClientConnectorError as exc:
                self._stats.connection_errors += 1
                raise ConnectionTrouble(request, exc, maybe_sent=False) from None
            except (TimeoutError, aiohttp.ClientError) as exc:
                self._stats.connection_errors += 1
                raise ConnectionTrouble(request, exc, maybe_sent=True) from None
            finally:
                self._stats.in_flight -= 1
        self._stats.by_status[response.status] += 1
        return ApiResponse(response.status, dict(response.headers), body)


class RateLimited:
    """Paces every request through the client's one shared limiter."""

    def __init__(self, inner: Sender, limiter: RateLimiter) -> None:
        self._inner = inner
        self._limiter = limiter

    async def send(self, request: ApiRequest) -> ApiResponse:
        for _ in range(MAX_THROTTLED_RESENDS):
            grant = await self._limiter.acquire(request.family)
            try:
                response = await self._inner.send(request)
            except BaseException:
                self._limiter.release(grant)
                raise
            self._limiter.observe(grant, response.status, parse_rate_headers(response.headers))
            if response.status != 429:
                return response
        raise ApiError(
            429, "refused by the rate limit too many times", request.method, request.path
        )


class Authenticated:
    """Sends with a bearer token from the pool; a 401 earns exactly one fresh token and resend."""

    def __init__(self, inner: Sender, pool: SessionPool) -> None:
        self._inner = inner
        self._pool = pool

    async def send(self, request: ApiRequest) -> ApiResponse:
        token = await self._pool.token()
        response = await self._inner.send(replace(request, bearer=token.value))
        if response.status != 401:
            return response
        fresh = await self._pool.renew(token)
        response = await self._inner.send(replace(request, bearer=fresh.value))
        if response.status == 401:
            raise CredentialsRejected(
                f"the API refused a freshly issued token for {request.method} {request.path}"
            )
        return response


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniformly random up to the capped exponential step."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class Retrying:
    """Retries what is safe to retry; says "outcome unknown" for a create that may have landed."""

    def __init__(
        self, inner: Sender, policy: RetryPolicy, clock: Clock, stats: ClientStats, seed: int = 0
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._clock = clock
        self._stats = stats
        self._rng = random.Random(seed)

    async def send(self, request: ApiRequest) -> ApiResponse:
        attempt = 0
        while True:
            try:
                response = await self._inner.send(request)
            except ConnectionTrouble as exc:
                if exc.maybe_sent and not request.idempotent:
                    raise OutcomeUnknown(0, str(exc), request.method, request.path) from None
                if attempt >= self._policy.max_retries:
                    raise CloudUnreachable(f"Cloud API unreachable: {exc}") from None
            else:
                if response.status < 500:
                    return response
                if not request.idempotent:
                    raise OutcomeUnknown(
                        response.status,
                        f"server error {response.status} after the request was sent",
                        request.method,
                        request.path,
                    )
                if attempt >= self._policy.max_retries:
                    return response
            self._stats.retries += 1
            await self._clock.sleep(self._policy.delay(attempt, self._rng))
            attempt += 1
