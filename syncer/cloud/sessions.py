"""API sessions: bearer tokens that are fetched once, shared, and renewed before they expire.

The API sends no expiry with a token (docs/cloud-api.md §1), so the pool keeps each token's issue
time itself. Renewal is single-flight per slot: however many requests find the token stale at
once, one ``auth/token`` call is made and the rest wait for its result. A token inside the renewal
margin but not yet expired keeps serving the other requests while one of them renews it, so work in
flight never stalls on a renewal it does not need.

The configured lifetime is a belief, not a promise: a server may end sessions much sooner. The
first 401 of a token ends it for every request (none is sent with it again: they wait for the one
renewal), and the token's age then is the longest the server can be granting. From then on tokens
are renewed before that age, with the same share of it left as the configured margin leaves.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from syncer.clock import Clock
from syncer.logs import get_logger

_log = get_logger(__name__)

SHORTEST_LEARNED_LIFETIME = 1.0
"""A token refused younger than this was revoked, not expired: it teaches nothing about lifetimes
(and learning it would renew on nearly every request)."""


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when it was asked for and received; the value never appears in a repr."""

    value: str = field(repr=False)
    issued_at: float
    """When the ``auth/token`` call began: the server's session is surely younger than this."""
    slot: int
    ready_at: float = 0.0
    """When it arrived: the server's session is surely older than this."""


Authenticate = Callable[[], Awaitable[str]]
"""Fetches a new bearer token (one ``auth/token`` call)."""


@dataclass(slots=True)
class _Slot:
    index: int
    token: Token | None = None
    previous: Token | None = None
    """The token before ``token``: requests that took it may still be waiting to be sent."""
    refused: Token | None = None
    """The last token of this slot the server answered 401: never sent again."""
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def dead(self) -> bool:
        return self.token is not None and self.token == self.refused


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
        self._share = (lifetime - renew_margin) / lifetime
        self._expiry = lifetime
        """The age from which a token is not sent any more."""
        self._renew_at = lifetime * self._share
        """The age from which one request renews the token while the others still use it."""
        self._slots = [_Slot(i) for i in range(size)]
        self._next = itertools.cycle(self._slots)

    def __repr__(self) -> str:
        return f"SessionPool(size={len(self._slots)}, lifetime={self._lifetime})"

    @property
    def lifetime(self) -> float:
        """The longest a token is believed to live: configured, or learned from a 401."""
        return self._lifetime

    async def token(self) -> Token:
        """A token fit to send with now, renewing the next slot's token when it is due."""
        slot = next(self._next)
        current = slot.token
        if current is not None and not slot.dead:
            age = self._age(current)
            if age < self._renew_at:
                return current
            if age < self._expiry and slot.lock.locked():
                return current  # another request is renewing it; this one is still valid
        return await self._renew(slot, stale=current)

    def fit_to_send(self, value: str) -> bool:
        """Whether a request holding the token ``value`` may still go out with it: not once the
        server has refused it, nor past the lifetime (the request may have waited for the rate
        limiter meanwhile). A value the pool does not know is not its business."""
        for slot in self._slots:
            for token in (slot.token, slot.previous):
                if token is not None and token.value == value:
                    # A server may issue the same value again: only the refused issue is dead.
                    return token is not slot.refused and self._age(token) < self._expiry
            if slot.refused is not None and slot.refused.value == value:
                return False
        return True

    async def renew(self, stale: Token) -> Token:
        """A fresh token for the slot ``stale`` came from, after the server refused ``stale``.

        Never hands ``stale`` back: if another request already replaced it, that newer token is
        used; otherwise a new one is fetched. The first refusal of a token ends it for everyone
        and teaches the pool how long the server really lets tokens live.
        """
        slot = self._slots[stale.slot]
        if slot.token == stale and not slot.dead:
            slot.refused = stale
            self._learn_lifetime(self._clock.monotonic() - stale.ready_at)
        return await self._renew(slot, stale=stale)

    async def replace(self, stale: Token) -> Token:
        """A token other than ``stale`` (past its lifetime, or refused), renewing once if needed."""
        return await self._renew(self._slots[stale.slot], stale=stale)

    async def _renew(self, slot: _Slot, *, stale: Token | None) -> Token:
        async with slot.lock:
            current = slot.token
            if (
                current is not None
                and current != stale
                and not slot.dead
                and self._age(current) < self._renew_at
            ):
                return current  # renewed while this request waited for the lock
            issued_at = self._clock.monotonic()
            value = await self._authenticate()
            slot.previous = current
            slot.token = Token(value, issued_at, slot.index, ready_at=self._clock.monotonic())
            return slot.token

    def _learn_lifetime(self, age: float) -> None:
        """The age at the first 401 is only an upper bound: the token may have died at any time
        since the request before. So the configured share is kept as a margin twice over: tokens
        stop being sent at that share of the age, and their renewal starts a margin earlier, so
        that it is done by then."""
        if not SHORTEST_LEARNED_LIFETIME <= age < self._lifetime:
            return
        self._lifetime = age
        self._expiry = age * self._share
        self._renew_at = self._expiry * self._share
        _log.warning(
            "the API ended a session early; renewing sessions sooner from now on",
            lifetime_seconds=round(age, 3),
            renew_after_seconds=round(self._renew_at, 3),
        )

    def _age(self, token: Token) -> float:
        return self._clock.monotonic() - token.issued_at
