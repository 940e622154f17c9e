"""The session pool in virtual time: renewal before expiry, single flight, never a stale token."""

from __future__ import annotations

import anyio
import pytest

from syncer.clock import ManualClock
from syncer.cloud.sessions import SessionPool

pytestmark = pytest.mark.anyio


class CountingIssuer:
    """Issues numbered tokens; each issue takes ``delay`` seconds of virtual time."""

    def __init__(self, clock: ManualClock, delay: float = 0.0) -> None:
        self.clock = clock
        self.delay = delay
        self.issued = 0
        self.gate = anyio.Event()
        self.gate.set()

    async def __call__(self) -> str:
        await self.gate.wait()
        self.issued += 1
        await self.clock.sleep(self.delay)
        return f"token-{self.issued}"


def pool_of(issuer: CountingIssuer, size: int = 1) -> SessionPool:
    return SessionPool(issuer, issuer.clock, lifetime=1800, renew_margin=300, size=size)


async def test_a_token_is_reused_until_the_margin_then_renewed() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    first = await pool.token()
    issuer.clock.advance(1499)
    assert await pool.token() == first
    issuer.clock.advance(2)  # 1501 s old: inside the 300 s margin before 1800
    renewed = await pool.token()
    assert renewed.value == "token-2"
    assert issuer.issued == 2


async def test_renewal_inside_the_margin_does_not_stall_other_requests() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    first = await pool.token()
    issuer.clock.advance(1600)
    issuer.gate = anyio.Event()  # the renewal hangs until we say so
    got: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(pool.token)  # this one renews, and waits for auth/token
        await anyio.wait_all_tasks_blocked()
        for _ in range(5):
            got.append((await pool.token()).value)  # still valid: served at once
        issuer.gate.set()
    assert got == [first.value] * 5
    assert issuer.issued == 2


async def test_an_expired_token_makes_everyone_wait_for_one_renewal() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    await pool.token()
    issuer.clock.advance(1800)
    values: list[str] = []

    async def take() -> None:
        values.append((await pool.token()).value)

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(take)
    assert set(values) == {"token-2"}
    assert issuer.issued == 2


async def test_renew_after_a_401_never_returns_the_refused_token() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    refused = await pool.token()
    fresh = await pool.renew(refused)
    assert fresh.value != refused.value
    again = await pool.renew(refused)  # a second request refused with the same old token
    assert again == fresh
    assert issuer.issued == 2


async def test_several_sessions_are_used_in_turn() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer, size=3)
    values = [(await pool.token()).value for _ in range(6)]
    assert values == ["token-1", "token-2", "token-3"] * 2


async def test_the_token_value_is_not_in_reprs() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    token = await pool.token()
    assert token.value not in repr(token)
    assert token.value not in repr(pool)


def test_a_margin_longer_than_the_lifetime_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        SessionPool(CountingIssuer(ManualClock()), ManualClock(), lifetime=60, renew_margin=60)


async def test_after_a_401_no_request_gets_the_refused_token() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    refused = await pool.token()
    issuer.clock.advance(10)
    issuer.gate = anyio.Event()  # the renewal hangs until we say so
    values: list[str] = []

    async def take() -> None:
        values.append((await pool.token()).value)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pool.renew, refused)
        await anyio.wait_all_tasks_blocked()
        assert not pool.fit_to_send(refused.value)  # queued requests holding it stay home
        for _ in range(5):
            tg.start_soon(take)
        await anyio.wait_all_tasks_blocked()
        assert values == []  # they wait for the one renewal instead
        issuer.gate.set()
    assert values == ["token-2"] * 5
    assert issuer.issued == 2


async def test_the_age_at_the_first_401_is_learnt_and_tokens_are_renewed_before_it() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    first = await pool.token()
    issuer.clock.advance(8)
    second = await pool.renew(first)
    assert pool.lifetime == 8
    issuer.clock.advance(5.5)  # 1800 s configured, 300 s margin: renewal from 5/6 of 5/6 of 8 s
    assert await pool.token() == second
    assert pool.fit_to_send(second.value)
    issuer.clock.advance(0.2)
    third = await pool.token()
    assert third.value == "token-3"
    issuer.clock.advance(1.0)  # 6.7 s old: past 5/6 of 8 s, no longer sent
    assert not pool.fit_to_send(second.value)
    assert pool.fit_to_send(third.value)
    issuer.clock.advance(9.0)
    await pool.renew(third)  # a later 401 at a greater age teaches nothing new
    assert pool.lifetime == 8


async def test_a_token_refused_at_once_was_revoked_not_expired() -> None:
    issuer = CountingIssuer(ManualClock())
    pool = pool_of(issuer)
    refused = await pool.token()
    issuer.clock.advance(0.5)
    await pool.renew(refused)
    assert pool.lifetime == 1800
