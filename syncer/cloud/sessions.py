"""API sessions: bearer tokens that are fetched once, shared, and renewed before they expire.

The API sends no expiry with a token (cloud-api.md section 1), so the pool keeps each token's issue
time itself. Renewal is single-flight per slot: however many requests find the token stale at
once, one ``auth/token`` call is made and the rest wait for its result. A token inside the renewal
margin but not yet expired keeps serving the other requests while one of them renews it, so work in
flight never stalls on a renewal it does not need.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from syncer.clock import Clock


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when it was issued; the value never appears in a repr."""

    value: str = field(repr=False)
    issued_at: float
    slot: int


Authenticate = Callable[[], Awaitable[str]]
"""Fetches a new bearer token (one ``auth/token`` call)."""


@dataclass(slots=True)
class _Slot:
    index: int
    token: Token | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class SessionPool:
    """``size`` independent sessions of one API client, used round-robin.

    More sessions spread load; they add quota only where the server keys its bucket per session,
    which the rate limiter notices from the headers on its own.
    """

    def __init__(
        self,
        authenticate: Authenticate,
        clock: Clock,
        *,
        lifetime: float,
        renew_margin: float,
        size: int = 1,
    ) -> None:
        if renew_margin >= lifetime:
            raise ValueError("the renewal margin must be shorter than the token lifetime")
        self._authenticate = authenticate
        self._clock = clock
        self._lifetime = lifetime
        self._renew_at = lifetime - renew_margin
        self._slots = [_Slot(i) for i in range(size)]
        self._next = itertools.cycle(self._slots)

    def __repr__(self) -> str:
        return f"SessionPool(size={len(self._slots)}, lifetime={self._lifetime})"

    async def token(self) -> Token:
        """A token fit to send with now, renewing the next slot's token when it is due."""
        slot = next(self._next)
        current = slot.token
        if current is not None and self._age(current) < self._renew_at:
            return current
        if current is not None and self._age(current) < self._lifetime and slot.lock.locked():
            return current  # another request is renewing it; this one is still valid
        return await self._renew(slot, stale=current)

    async def renew(self, stale: Token) -> Token:
        """A fresh token for the slot ``stale`` came from, after the server refused ``stale``.

        Never hands ``stale`` back: if another request already replaced it, that newer token is
        used; otherwise a new one is fetched.
        """
        return await self._renew(self._slots[stale.slot], stale=stale)

    async def _renew(self, slot: _Slot, *, stale: Token | None) -> Token:
        async with slot.lock:
            current = slot.token
            if current is not None and current != stale and self._age(current) < self._renew_at:
                return current  # renewed while this request waited for the lock
            issued_at = self._clock.monotonic()
            slot.token = Token(await self._authenticate(), issued_at, slot.index)
            return slot.token

    def _age(self, token: Token) -> float:
        return self._clock.monotonic() - token.issued_at
