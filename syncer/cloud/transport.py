"""The HTTP under a client's stack: an aiohttp session of the client's own, or one a process
shares among all its firms (``SharedHttp``, for ``syncer worker``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp

from syncer.cloud.pipeline import ClientStats, HttpSender
from syncer.settings import CloudSettings


class SharedHttp:
    """One aiohttp session (and its keep-alive connections) per origin for all the firms of a
    process (``syncer worker``), closed with ``close`` when the process is done.

    A session per job cost each job a new session, new connections and their teardown. Sharing
    one across firms is sound because it holds nothing of a firm: tokens, the secret and the
    rate limiters live in each firm's client and go with each request, and the session keeps no
    cookies (``_session``). Each firm's ``HttpSender`` still bounds its own requests in flight.
    """

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], aiohttp.ClientSession] = {}

    def session(self, api_root: str) -> aiohttp.ClientSession:
        """The session for ``api_root``'s origin, opened on first use."""
        parts = urlsplit(api_root)
        origin = (parts.scheme.lower(), parts.netloc.lower())
        found = self._sessions.get(origin)
        if found is None:
            # Each firm's sender bounds its own requests; the sum is what per-job sessions had.
            found = self._sessions[origin] = _session(aiohttp.TCPConnector(limit=0))
        return found

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()


def _session(connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
    """An aiohttp session that keeps no cookies: the API authenticates with bearer tokens, and
    a cookie one firm's response set must never go with another firm's request."""
    return aiohttp.ClientSession(
        raise_for_status=False, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    )


@asynccontextmanager
async def http_transport(
    settings: CloudSettings, stats: ClientStats, in_flight: int, shared: SharedHttp | None = None
) -> AsyncIterator[HttpSender]:
    """An ``HttpSender`` (the settings' timeouts, at most ``in_flight`` requests at once): on
    ``shared``'s session for the API's origin, else on a session of its own (at most
    ``in_flight`` connections) closed on exit. The bottom of the client's stack and of the
    probe's wire."""
    timeout = aiohttp.ClientTimeout(
        total=settings.request_timeout_seconds, connect=settings.connect_timeout_seconds
    )
    root, limit = settings.api_root, settings.max_response_bytes
    if shared is not None:
        yield HttpSender(shared.session(root), root, stats, in_flight, limit, timeout=timeout)
        return
    async with _session(aiohttp.TCPConnector(limit=in_flight)) as http:
        yield HttpSender(http, root, stats, in_flight, limit, timeout=timeout)
