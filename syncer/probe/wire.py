"""The probe's one way to the API: ``auth/token`` and GETs, through syncer's own limiter.

The probe must see what the CloudClient hides (status, headers, raw bodies, which session a
request used), so it sends ``ApiRequest``s itself, but down the same pipeline: retried on 5xx and
broken connections, paced by a ``RateLimiter`` that learns from every answer. ``Wire`` has no
method that writes, so a probe cannot change a firm by construction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from syncer.assumptions import RateLimitHeaders
from syncer.clock import Clock, SystemClock
from syncer.cloud.errors import ApiError, extract_message
from syncer.cloud.headers import DOCUMENTED, RateHeaders, parse_rate_headers
from syncer.cloud.keying import Limiters
from syncer.cloud.pipeline import (
    ApiRequest,
    ClientStats,
    RateLimited,
    Retrying,
    RetryPolicy,
    Sender,
)
from syncer.cloud.ratelimit import RateLimiter
from syncer.cloud.tokens import AUTH_PATH, TokenIssuer
from syncer.cloud.transport import http_transport
from syncer.errors import CloudUnreachable, CredentialsRejected, ExitCode, SyncerError
from syncer.settings import CloudSettings


class CloudContractBroken(SyncerError):
    """Cloud answered something the API does not promise (a token response without a token)."""

    exit_code = ExitCode.CLOUD_CONTRACT


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    names: RateLimitHeaders = DOCUMENTED
    """The rate-limit header names ``rate`` reads (the firm's, once the probe has seen them)."""

    def json(self) -> Any:
        """The decoded body; ``None`` when it is empty or not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    @property
    def rate(self) -> RateHeaders:
        return parse_rate_headers(self.headers, self.names)

    @property
    def second(self) -> str | None:
        """The server's ``Date`` (whole seconds): answers within one second saw no refill."""
        return next((v for k, v in self.headers.items() if k.lower() == "date"), None)

    def message(self) -> str:
        return extract_message(self.status, self.body)

    def shape(self) -> str:
        """The body described without quoting it whole: its JSON type and keys, or its length."""
        body = self.json()
        if isinstance(body, dict):
            return "a JSON object with " + (", ".join(sorted(body)) or "no keys")
        if isinstance(body, list):
            kinds = sorted({type(item).__name__ for item in body})
            return f"a JSON list of {len(body)} ({', '.join(kinds) or 'empty'})"
        if not self.body:
            return "an empty body"
        return f"{len(self.body)} bytes that are not JSON"


class Wire:
    def __init__(
        self, sender: Sender, stats: ClientStats, settings: CloudSettings, limited: RateLimited
    ) -> None:
        self._sender = sender
        self._stats = stats
        self._settings = settings
        self._limited = limited
        self._issuer = TokenIssuer(sender, settings, stats)

    @property
    def header_names(self) -> RateLimitHeaders:
        """The names answers, and the probe's limiter, read rate-limit headers under."""
        return self._limited.names

    @header_names.setter
    def header_names(self, names: RateLimitHeaders) -> None:
        self._limited.names = names

    def __repr__(self) -> str:
        return f"Wire(api_root={self._settings.api_root!r})"

    @property
    def requests(self) -> int:
        return self._stats.requests

    async def session(self) -> tuple[str, Answer]:
        """A new session's token, and the answer that carried it."""
        try:
            token, response = await self._issuer.issue()
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 429:
                raise CloudUnreachable(f"Cloud API refused the probe: {exc}") from None
            raise CloudContractBroken(
                f"{AUTH_PATH} answered {exc.status} without a Token ({exc.message}); "
                "the probe cannot go on"
            ) from None
        return token, Answer(response.status, response.headers, response.body, self.header_names)

    async def get(self, path: str, token: str, **params: object) -> Answer:
        """A GET with ``token``; a 401 on a token just issued means the probe cannot go on."""
        query = {name: str(value) for name, value in params.items()}
        answer = await self._send(ApiRequest("GET", path, query, bearer=token))
        if answer.status == 401:
            raise CredentialsRejected(f"the API refused a freshly issued token for GET {path}")
        return answer

    async def _send(self, request: ApiRequest) -> Answer:
        try:
            response = await self._sender.send(request)
        except ApiError as exc:  # refused with 429 again and again: nothing gets through
            raise CloudUnreachable(f"Cloud API refused the probe: {exc}") from None
        return Answer(response.status, response.headers, response.body, self.header_names)


@asynccontextmanager
async def open_wire(settings: CloudSettings, clock: Clock | None = None) -> AsyncIterator[Wire]:
    """A wire with its own aiohttp session and limiter, closed on exit."""
    clock = clock or SystemClock()
    stats = ClientStats()
    # One limiter whatever the keying: the probe is what finds the keying out.
    limiters = Limiters(
        "client", lambda: RateLimiter(clock, retry_after_cap=settings.retry_after_cap_seconds)
    )
    async with http_transport(settings, stats, 1) as transport:
        limited = RateLimited(
            transport,
            limiters,
            clock,
            settings.max_throttled_seconds,
            settings.api.ratelimit_headers,
        )
        policy = RetryPolicy(max_retries=settings.max_retries)
        yield Wire(Retrying(limited, policy, clock, stats), stats, settings, limited)
