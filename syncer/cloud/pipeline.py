"""The request path as a stack of small senders, each with one job (as httpx layers transports).

``Retrying`` -> ``Authenticated`` -> ``RateLimited`` -> ``FreshToken`` -> ``HttpSender``

* ``HttpSender`` makes one HTTP exchange through the process's aiohttp session and classifies a
  failure as "certainly not sent" (connect failed) or "maybe sent" (the connection broke later).
  It never follows a redirect (any 3xx ends the run, exit 76: the secret and tokens go to the
  configured origin only) and stops reading a body over ``cloud.max_response_bytes``.
* ``RateLimited`` waits for the shared limiter, reports every response's headers back to it and
  sends again after a 429, for at most ``cloud.max_throttled_seconds`` of refusals (then exit 69).
  Waiting here never spends a request's retry budget.
* ``FreshToken`` stops a request whose token was refused (or outlived) while it waited.
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
import orjson
from aiohttp import hdrs

from syncer.assumptions import RateLimitHeaders
from syncer.clock import Clock
from syncer.cloud.errors import OutcomeUnknown
from syncer.cloud.headers import DOCUMENTED, parse_rate_headers
from syncer.cloud.keying import Limiters
from syncer.cloud.sessions import SessionPool, Token
from syncer.cloud.shapes import broken
from syncer.errors import CloudContractBroken, CloudUnreachable, CredentialsRejected

IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One API call. ``path`` is relative to the API root; the body and the bearer token are kept
    out of the repr because either may carry a secret."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: object = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    session: int | None = None
    """The pool slot of the session ``bearer`` belongs to: the bucket, where buckets are kept
    per session (``syncer.cloud.keying``)."""
    retry_safe: bool = False
    """Safe to send twice although not idempotent by method (a second ``auth/token`` session is
    harmless)."""
    check_token: bool = True
    """Whether ``FreshToken`` may hold the request back for a stale token (not on a last try)."""

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
    """One HTTP exchange, at most ``max_in_flight`` at a time across the client.

    Redirects are never followed: one would carry the client secret or a token to whatever
    origin the ``Location`` names, and the API promises none, so any 3xx ends the run. A body
    larger than ``max_body`` is not read to its end.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_root: str,
        stats: ClientStats,
        max_in_flight: int,
        max_body: int,
        *,
        timeout: aiohttp.ClientTimeout,
    ) -> None:
        self._http = http
        self._timeout = timeout
        """Per request, not per session: firms sharing a session may set different ones."""
        self._api_root = api_root
        self._stats = stats
        # Not a CapacityLimiter: that yields to the event loop on every acquire, free or not.
        self._in_flight = anyio.Semaphore(max_in_flight, fast_acquire=True)
        self._max_body = max_body

    async def send(self, request: ApiRequest) -> ApiResponse:
        # The body is encoded here (orjson), not by aiohttp's ``json=`` (the standard library's
        # encoder behind a payload object per request): the same document, compact and UTF-8
        # rather than spaced and \u-escaped, for a fraction of the CPU. Bodies hold only text,
        # integer ids, booleans, lists and nulls (``syncer.value_rules``): no float to differ on.
        if request.json is None:
            headers, data = {"Accept": JSON}, None
        else:
            headers, data = {"Accept": JSON, "Content-Type": JSON}, orjson.dumps(request.json)
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
                    params=request.params or None,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                    timeout=self._timeout,
                ) as response:
                    refuse_redirect(request, response.status)
                    body = await _read_capped(request, response, self._max_body)
            except aiohttp.ClientConnectorError as exc:
                self._stats.connection_errors += 1
                raise ConnectionTrouble(request, exc, maybe_sent=False) from None
            except (TimeoutError, aiohttp.ClientError) as exc:
                self._stats.connection_errors += 1
                raise ConnectionTrouble(request, exc, maybe_sent=True) from None
            finally:
                self._stats.in_flight -= 1
        self._stats.by_status[response.status] += 1
        # aiohttp's own (case-insensitive, read-only) mapping: a copy per response was CPU for
        # nothing; ``parse_rate_headers`` looks the names up in it as they come.
        return ApiResponse(response.status, response.headers, body)


def refuse_redirect(request: ApiRequest, status: int) -> None:
    if 300 <= status < 400:
        raise broken(
            f"{request.method} {request.path}",
            f"status {status} (a redirect); syncer never follows one",
        )


async def _read_capped(request: ApiRequest, response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or ``CloudContractBroken`` as soon as it is known to exceed ``limit`` bytes:
    from its ``Content-Length``, else while it streams in. A plain body of a known length within
    the limit is read whole; an encoded one (gzip...) is counted as it inflates, since its
    ``Content-Length`` says nothing of what it inflates to."""
    length = response.content_length
    if length is not None and length > limit:
        raise _too_big(request, limit)
    if length is not None and hdrs.CONTENT_ENCODING not in response.headers:
        return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_big(request, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(request: ApiRequest, limit: int) -> CloudContractBroken:
    return broken(
        f"{request.method} {request.path}", f"a body over {limit} bytes (cloud.max_response_bytes)"
    )


class RateLimited:
    """Paces every request through the limiter of the bucket it draws from (one per API client
    unless ``[cloud.api].ratelimit_keying`` says the server keeps more: ``syncer.cloud.keying``).

    A request the server keeps refusing with 429 for ``give_up_after`` seconds ends the run
    (69): a server that grants nothing would otherwise be waited on for ever, in silence.
    """

    def __init__(
        self,
        inner: Sender,
        limiters: Limiters,
        clock: Clock,
        give_up_after: float,
        names: RateLimitHeaders = DOCUMENTED,
    ) -> None:
        self._inner = inner
        self._limiters = limiters
        self._clock = clock
        self._give_up_after = give_up_after
        self.names = names
        """The firm's rate-limit header names (``[cloud.api.ratelimit_headers]``; the probe
        corrects them once it has seen the firm's)."""

    async def send(self, request: ApiRequest) -> ApiResponse:
        first_refused: float | None = None
        limiter = self._limiters.pick(request.family, request.session)
        while True:
            grant = await limiter.acquire(request.family)
            try:
                response = await self._inner.send(request)
            except BaseException:
                limiter.release(grant)
                raise
            headers = parse_rate_headers(response.headers, self.names)
            limiter.observe(grant, response.status, headers)
            if response.status != 429:
                return response
            now = self._clock.monotonic()
            first_refused = now if first_refused is None else first_refused
            if now - first_refused >= self._give_up_after:
                raise CloudUnreachable(
                    f"Cloud refused {request.method} {request.path} with 429 (rate limit) for "
                    f"{now - first_refused:.0f} s without a grant (cloud.max_throttled_seconds); "
                    "giving up"
                )


class StaleToken(Exception):
    """The request's token was refused or outlived while it waited: it was not sent."""


class FreshToken:
    """The last check before a request leaves (under the limiter, so after any wait there): a
    token the server has refused since, or one past its lifetime, is not sent; ``Authenticated``
    fetches the one renewal and tries again. Otherwise every worker queued at the limiter when a
    session ended would spend a request on a 401."""

    def __init__(self, inner: Sender, pool: SessionPool) -> None:
        self._inner = inner
        self._pool = pool

    async def send(self, request: ApiRequest) -> ApiResponse:
        stale = request.bearer is not None and not self._pool.fit_to_send(request.bearer)
        if stale and request.check_token:
            raise StaleToken
        return await self._inner.send(request)


MAX_STALE_TOKENS = 3
"""Tokens a request may find stale in a row before it is sent with the last anyway (a limiter
wait longer than the lifetime); the server then decides, and a 401 takes the usual path."""


class Authenticated:
    """Sends with a bearer token from the pool; a 401 earns exactly one fresh token and resend."""

    def __init__(self, inner: Sender, pool: SessionPool) -> None:
        self._inner = inner
        self._pool = pool

    async def send(self, request: ApiRequest) -> ApiResponse:
        response, token = await self._send_with(request, await self._pool.token())
        if response.status != 401:
            return response
        response, _ = await self._send_with(request, await self._pool.renew(token))
        if response.status == 401:
            raise CredentialsRejected(
                f"the API refused a freshly issued token for {request.method} {request.path}"
            )
        return response

    async def _send_with(self, request: ApiRequest, token: Token) -> tuple[ApiResponse, Token]:
        """Send with ``token``, or with its replacement if it went stale before leaving."""
        for _ in range(MAX_STALE_TOKENS):
            try:
                sent = replace(request, bearer=token.value, session=token.slot)
                return await self._inner.send(sent), token
            except StaleToken:
                token = await self._pool.replace(token)
        last_try = replace(request, bearer=token.value, session=token.slot, check_token=False)
        return await self._inner.send(last_try), token


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
