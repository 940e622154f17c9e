"""The limiter against Spring's Lua script, in virtual time (a ManualClock, no sleeping)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.clock import ManualClock
from syncer.simulator.config import Limits
from syncer.simulator.limiter import BucketStore, NeighbourDrain, RateLimiter, bucket_ttl

START = 1_700_000_000.0  # a whole second


def spring_script(
    redis: dict[str, tuple[float, float, float]],
    key: str,
    *,
    rate: int,
    capacity: int,
    requested: int,
    now: int,
    real_now: float,
) -> tuple[bool, float]:
    """request_rate_limiter.lua, transcribed line by line (keys expire after ttl real seconds)."""
    fill_time = capacity / rate
    ttl = math.floor(fill_time * 2)
    entry = redis.get(key)
    if entry is not None and entry[2] <= real_now:
        entry = None
    last_tokens = capacity if entry is None else entry[0]
    last_refreshed = 0 if entry is None else entry[1]
    delta = max(0, now - last_refreshed)
    filled_tokens = min(capacity, last_tokens + delta * rate)
    allowed = filled_tokens >= requested
    new_tokens = filled_tokens - requested if allowed else filled_tokens
    if ttl > 0:
        redis[key] = (new_tokens, now, real_now + ttl)
    return allowed, new_tokens


def limits(rate: int, capacity: int, requested: int = 1) -> Limits:
    return Limits(replenish_rate=rate, burst_capacity=capacity, requested_tokens=requested)


def test_burst_then_denied_within_the_same_second() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=2, capacity=3)
    results = [(d.allowed, d.remaining) for d in (store.take("k", lim) for _ in range(5))]
    assert results == [(True, 2), (True, 1), (True, 0), (False, 0), (False, 0)]


def test_refill_is_stepwise_at_whole_second_boundaries() -> None:
    clock = ManualClock(START + 0.2)
    store = BucketStore(clock)
    lim = limits(rate=1, capacity=2)
    assert store.take("k", lim).remaining == 1
    assert store.take("k", lim).remaining == 0
    clock.advance(0.79)  # still the same whole second: nothing comes back
    assert not store.take("k", lim).allowed
    clock.advance(0.02)  # crossed into the next second: one token
    decision = store.take("k", lim)
    assert (decision.allowed, decision.remaining) == (True, 0)


def test_denied_request_consumes_nothing_and_reports_filled() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=1, capacity=5, requested=3)
    assert store.take("k", lim).remaining == 2
    denied = store.take("k", lim)
    assert (denied.allowed, denied.remaining) == (False, 2)
    clock.advance(1)
    assert store.take("k", lim).remaining == 0  # 2 + 1 = 3 tokens, all three taken


def test_requested_above_one_builds_one_request_a_minute() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=1, capacity=60, requested=60)
    assert store.take("k", lim).remaining == 0
    clock.advance(59)
    assert (store.take("k", lim).allowed, store.take("k", lim).remaining) == (False, 59)
    clock.advance(1)
    assert store.take("k", lim).allowed


def test_idle_bucket_expires_after_ttl_and_is_full_again() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=1, capacity=10)
    assert bucket_ttl(lim) == 20
    for _ in range(10):
        store.take("k", lim)
    clock.advance(19.5)
    assert "k" in store.snapshot()
    clock.advance(0.5)
    assert store.snapshot() == {}
    assert store.take("k", lim).remaining == 9


def test_ttl_zero_stores_nothing_so_the_bucket_is_always_full() -> None:
    """Spring quirk: capacity/rate*2 < 1 means SETEX is skipped and every request passes."""
    store = BucketStore(ManualClock(START))
    lim = limits(rate=5, capacity=2)
    assert bucket_ttl(lim) == 0
    assert all(store.take("k", lim).remaining == 1 for _ in range(10))


def test_capacity_zero_blocks_everything() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=10, capacity=0)
    for _ in range(3):
        decision = store.take("k", lim)
        assert (decision.allowed, decision.remaining) == (False, 0)
        clock.advance(5)


def test_buckets_are_independent_per_key() -> None:
    store = BucketStore(ManualClock(START))
    lim = limits(rate=1, capacity=1)
    assert store.take("a", lim).allowed
    assert not store.take("a", lim).allowed
    assert store.take("b", lim).allowed


def test_headers_carry_the_four_values() -> None:
    decision = BucketStore(ManualClock(START)).take("k", limits(rate=4, capacity=8, requested=2))
    assert decision.headers == {
        "x-ratelimit-burst-capacity": "8",
        "x-ratelimit-replenish-rate": "4",
        "x-ratelimit-requested-tokens": "2",
        "x-ratelimit-remaining": "6",
    }


def test_fail_open_share_passes_with_minus_one_and_touches_no_bucket() -> None:
    clock = ManualClock(START)
    lim = limits(rate=1, capacity=1).updated({"fail_open_share": 1.0})
    limiter = RateLimiter(clock, seed=3)
    decisions = [limiter.check("k", lim) for _ in range(5)]
    assert all(d.allowed and d.remaining == -1 for d in decisions)
    assert limiter.store.snapshot() == {}


def test_fail_open_draws_are_seeded() -> None:
    lim = limits(rate=1000, capacity=1000).updated({"fail_open_share": 0.3})

    def pattern() -> list[int]:
        limiter = RateLimiter(ManualClock(START), seed=42)
        return [limiter.check("k", lim).remaining for _ in range(50)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(-1) < 50


def test_noisy_neighbour_drains_tokens_every_second() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=5, capacity=10)
    drain = NeighbourDrain(6, clock)  # takes more than the bucket gains each second
    drain.catch_up(store, "k", lim)  # this second: 10 - 6
    assert store.take("k", lim).remaining == 3
    clock.advance(3)
    drain.catch_up(store, "k", lim)  # three seconds of +5 -6: 3 -> 2 -> 1 -> 0
    denied = store.take("k", lim)
    assert (denied.allowed, denied.remaining) == (False, 0)


def test_noisy_neighbour_counts_what_it_took_in_each_second() -> None:
    """What a neighbour really left others, second by second (``bench.ratelimit``'s "of left"):
    a refused draw takes nothing."""
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=5, capacity=10)
    drain = NeighbourDrain(6, clock)
    for _ in range(5):  # 10 -> 4, then +5 -6 each second: 3, 2, 1 (our one take), then 0 + 5 < 6
        drain.catch_up(store, "k", lim)
        if clock.now() == START:
            store.take("k", lim)
        clock.advance(1)
    first = int(START)
    assert drain.taken == {first: 6, first + 1: 6, first + 2: 6, first + 3: 6}
    assert (drain.allowed, drain.denied) == (4, 1)


@settings(max_examples=150, deadline=None)
@given(
    rate=st.integers(1, 6),
    capacity=st.integers(0, 12),
    requested=st.integers(1, 4),
    steps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=40),
)
def test_matches_the_lua_script_for_any_request_sequence(
    rate: int, capacity: int, requested: int, steps: list[float]
) -> None:
    clock = ManualClock(START + 0.5)
    store = BucketStore(clock)
    lim = limits(rate, capacity, requested)
    redis: dict[str, tuple[float, float, float]] = {}
    for step in steps:
        clock.advance(step)
        ours = store.take("k", lim)
        now = math.floor(clock.now())
        allowed, tokens = spring_script(
            redis,
            "k",
            rate=rate,
            capacity=capacity,
            requested=requested,
            now=now,
            real_now=clock.now(),
        )
        assert (ours.allowed, ours.remaining) == (allowed, tokens)


def test_rate_zero_never_refills_and_never_expires() -> None:
    clock = ManualClock(START)
    store = BucketStore(clock)
    lim = limits(rate=0, capacity=1)
    assert store.take("k", lim).allowed
    clock.advance(10_000)
    assert not store.take("k", lim).allowed


@pytest.mark.parametrize(("rate", "capacity", "ttl"), [(1, 1, 2), (3, 10, 6), (10, 20, 4)])
def test_ttl_is_floor_of_twice_the_fill_time(rate: int, capacity: int, ttl: int) -> None:
    assert bucket_ttl(limits(rate, capacity)) == ttl
