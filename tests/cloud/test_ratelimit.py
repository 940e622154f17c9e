"""The limiter against Spring's bucket arithmetic, in virtual time."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import anyio
import pytest

from syncer.cloud.headers import RateHeaders, parse_rate_headers
from syncer.cloud.ratelimit import Grant, RateLimiter
from syncer.simulator.config import Limits
from tests.cloud.virtual_time import Server, VirtualClock, acquire_many, drive

pytestmark = pytest.mark.anyio


def limits(rate: int, burst: int, cost: int = 1) -> Limits:
    return Limits(replenish_rate=rate, burst_capacity=burst, requested_tokens=cost)


@pytest.mark.parametrize(
    ("rate", "burst", "cost", "workers"),
    [(10, 20, 1, 1), (10, 20, 1, 8), (10, 10, 1, 64), (50, 100, 1, 8), (10, 40, 10, 8)],
)
async def test_uses_the_granted_rate_without_refusals(
    rate: int, burst: int, cost: int, workers: int
) -> None:
    """After the phase is learnt (a few seconds of probing), every refill is used."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(rate, burst, cost))
    await drive(clock, limiter, server, workers=workers, seconds=30, latency=jitter())
    start = second_of(clock) - 35
    steady = server.count(True, since=start + 15, until=start + 30)
    assert server.count(False) == 0
    assert steady >= 0.98 * (rate / cost) * 15
    stats = limiter.stats
    assert (stats.rate, stats.burst, stats.cost) == (rate, burst, cost)


@pytest.mark.parametrize(("rate", "burst"), [(8, 2), (8, 3), (10, 5)])
async def test_burst_below_the_rate_is_used_every_second(rate: int, burst: int) -> None:
    """A refill fills such a bucket to the brim, so ``burst`` requests a second can pass. A
    capacity of two once locked the limiter at one a second: the last token held back to probe
    the boundary left no pair of responses within one second to learn the boundary from."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(rate, burst))
    await drive(clock, limiter, server, workers=4, seconds=30, latency=jitter())
    start = second_of(clock) - 35
    steady = server.count(True, since=start + 15, until=start + 30)
    assert server.count(False) == 0
    assert steady >= 0.98 * burst * 15


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_burst_equal_to_the_rate_is_used_before_the_boundary_is_known(seed: int) -> None:
    """With latency jitter the boundary estimate stays a few hundredths wide for a long time. A
    token held back to probe it would sit in the bucket through the refill and be lost to the cap
    every second (nine of ten used); once the arc is narrower than half a second it is not worth
    that, because an arc only delays credits while a drained bucket loses nothing to the cap."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, 10))
    await drive(clock, limiter, server, workers=8, seconds=12, latency=jitter(seed))
    start = second_of(clock) - 17
    assert server.count(True, since=start + 5, until=start + 12) >= 0.98 * 10 * 7
    assert server.count(False) == 0


@pytest.mark.parametrize("workers", [8, 64])
@pytest.mark.parametrize("phase", [0.1, 0.3, 0.5, 0.625, 0.8, 0.95])
async def test_burst_equal_to_the_rate_is_used_from_the_first_seconds(
    phase: float, workers: int
) -> None:
    """Where the server's second falls decides what the first refills cost. A refill proved by a
    response before its credit is due is taken at once (the response shows the tokens; waiting
    for the credit left them to the cap of the next refill, and the credit, guessing the bucket
    full at the boundary, then added nothing). Answers counting down without a gap from an exact
    ``remaining`` prove the level the next refill meets (the first credit once added one token,
    because the initial burst might have come after the boundary). No second after the first
    falls short."""
    clock = VirtualClock(start=1_700_000_000 + phase)
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, 10))
    await drive(clock, limiter, server, workers=workers, seconds=6, latency=lambda: 0.001)
    first = math.floor(1_700_000_000 + phase)
    for second in range(first + 1, first + 6):
        assert server.per_second[(second, True)] >= 9
    assert server.count(True, since=first + 1, until=first + 6) >= 0.98 * 10 * 5
    assert server.count(False) == 0


def jitter(seed: int = 1, high: float = 0.05) -> Callable[[], float]:
    rng = random.Random(seed)
    return lambda: rng.uniform(0.0, high)


def second_of(clock: VirtualClock) -> int:
    return math.floor(clock.now())


async def test_follows_a_rate_change_within_two_seconds() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(20, 20))
    await drive(clock, limiter, server, workers=16, seconds=6, latency=jitter())
    for new_rate in (8, 30):
        server.limits = limits(new_rate, 20 if new_rate < 20 else new_rate)
        changed = second_of(clock) + 1
        denied_before = server.count(False)
        await drive(clock, limiter, server, workers=16, seconds=6, latency=jitter())
        # Two-second windows: a probe token held across a boundary moves one request from one
        # second to the next (the burst keeps it), which is not a failure to follow the rate.
        # Only whole seconds of the run: the last one is cut short by its end (a paced sender
        # spends only that part of it; one that bursts at the boundary spent it all).
        for second in range(changed + 2, changed + 4):
            allowed = server.count(True, since=second, until=second + 2)
            assert allowed >= 0.9 * 2 * new_rate
        assert server.count(False) - denied_before <= 2
    assert limiter.stats.rate == 30


async def test_sub_one_per_second_limit_with_cost_above_one() -> None:
    """rate 1, cost 60, capacity 60: one request a minute, ``remaining`` moving in steps of 60."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(1, 60, 60))
    await drive(clock, limiter, server, workers=4, seconds=300)
    assert server.count(False) == 0
    assert server.count(True) >= 5
    assert limiter.stats.cost == 60


async def test_learns_the_servers_second_boundary() -> None:
    clock = VirtualClock(start=1_700_000_000.37)
    limiter = RateLimiter(clock)
    server = Server(clock, limits(50, 100))
    await drive(clock, limiter, server, workers=8, seconds=10, latency=lambda: 0.002)
    width = limiter.stats.phase_width
    assert width is not None
    assert width < 0.05
    assert server.count(False) == 0


@pytest.mark.parametrize(("burst", "seed"), [(20, 1), (20, 2), (20, 3), (10, 1), (10, 2), (10, 3)])
async def test_noisy_neighbour_leaves_a_share_that_is_used(burst: int, seed: int) -> None:
    """Another program takes 3 of 10 tokens a second: the limiter withholds that much from each
    credit instead of racing it. The first credits go out in two waves, so the first wave's
    answers reveal the missing tokens before the second asks for them: nobody is refused."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, burst), neighbour_tokens=3)
    await drive(clock, limiter, server, workers=8, seconds=30, latency=jitter(seed))
    start = second_of(clock) - 35
    ours = server.count(True, since=start + 5, until=start + 30)
    assert ours >= 0.98 * 7 * 25
    assert server.count(False) == 0
    assert 2.5 <= limiter.stats.external_rate <= 3.5


async def test_failed_open_responses_keep_the_last_known_limits() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, 20))
    await drive(clock, limiter, server, workers=4, seconds=3)
    before = limiter.stats
    (grant,) = await acquire_many(clock, limiter, 1)
    limiter.observe(grant, 200, RateHeaders(replenish_rate=999, remaining=-1))
    assert limiter.stats == before
    await drive(clock, limiter, server, workers=4, seconds=3)
    assert server.count(False) == 0


async def test_without_headers_aimd_paces_and_counts_simultaneous_429s_as_one_cut() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, 10), strip_headers=True)
    await drive(clock, limiter, server, workers=8, seconds=30, latency=jitter())
    stats = limiter.stats
    assert stats.aimd
    assert stats.rate is None
    allowed = server.count(True, since=second_of(clock) - 20, until=second_of(clock) - 5)
    denied = server.count(False)
    assert allowed >= 0.5 * 10 * 15  # AIMD's sawtooth: well below the rate, never far above
    assert denied <= 0.2 * server.count(True)

    grants = await acquire_many(clock, limiter, 3)
    rate_before = limiter.stats.aimd_rate
    assert rate_before is not None
    for grant in grants:
        limiter.observe(grant, 429, RateHeaders())
    assert limiter.stats.aimd_rate == pytest.approx(max(0.25, rate_before / 2))


async def test_a_429_pauses_every_worker_until_the_next_refill() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(10, 10))
    await drive(clock, limiter, server, workers=4, seconds=3)
    await clock.run(math.floor(clock.now()) + 1.5)  # the model has credited this second's refill
    while server.handle("entities")[0] == 200:
        pass  # another program empties the bucket, and the model has not noticed yet
    denied_before = server.count(False)
    grant = await limiter.acquire("entities")
    status, headers = server.handle("entities")
    assert status == 429
    limiter.observe(grant, status, headers)
    refused_at = clock.monotonic()
    woken: list[float] = []

    async def worker() -> None:
        grant = await limiter.acquire("entities")
        woken.append(clock.monotonic())
        limiter.observe(grant, *server.handle("entities"))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(worker)
        await clock.run(clock.now() + 2)
    assert len(woken) == 5
    assert min(woken) > refused_at
    assert math.floor(clock.now() - (clock.monotonic() - min(woken))) > math.floor(
        clock.now() - (clock.monotonic() - refused_at)
    )  # nobody was let go before the server's next whole second
    assert server.count(False) == denied_before + 1


@pytest.mark.parametrize("limits_known", [False, True])
async def test_a_retry_after_of_nothing_is_no_reason_to_go_sooner(limits_known: bool) -> None:
    """``Retry-After: 0`` on a 429 sent the next request at once, again and again: the pause is
    the one the limiter takes anyway (AIMD's, or until the next credit), never shorter."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    if limits_known:
        first = await limiter.acquire("entities")
        limiter.observe(first, 200, RateHeaders(replenish_rate=10, burst_capacity=10, remaining=5))
    grant = await limiter.acquire("entities") if limits_known else await limiter.acquire("x")
    headers = (
        RateHeaders(replenish_rate=10, burst_capacity=10, remaining=0, retry_after=0)
        if limits_known
        else RateHeaders(retry_after=0)
    )
    refused_at = clock.monotonic()
    limiter.observe(grant, 429, headers)
    done: list[float] = []

    async def later() -> None:
        await limiter.acquire(grant.family)
        done.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(later)
        await clock.run(clock.now() + 10)
    assert done[0] - refused_at >= (0.05 if limits_known else 1.0)


async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, retry_after_cap=3.0)
    grant = await limiter.acquire("entities")
    headers = RateHeaders(replenish_rate=10, burst_capacity=10, remaining=0, retry_after=120)
    limiter.observe(grant, 429, headers)
    start = clock.monotonic()
    done: list[float] = []

    async def later() -> None:
        await limiter.acquire("entities")
        done.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(later)
        await clock.run(clock.now() + 10)
    assert done[0] - start == pytest.approx(3.0, abs=0.01)


async def test_the_first_request_is_a_lone_probe() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    first = await limiter.acquire("entities")
    second: list[Grant] = []

    async def another() -> None:
        second.append(await limiter.acquire("entities"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(another)
        await clock.run(clock.now() + 5)
        assert second == []  # no headers yet: nothing else goes out
        limiter.observe(
            first,
            200,
            parse_rate_headers(
                {
                    "X-RateLimit-Replenish-Rate": "5",
                    "x-ratelimit-burst-capacity": "5",
                    "X-RATELIMIT-REMAINING": "4",
                    "x-ratelimit-requested-tokens": "1",
                }
            ),
        )
        await clock.run(clock.now() + 1)
    assert len(second) == 1
    assert (limiter.stats.rate, limiter.stats.burst, limiter.stats.cost) == (5, 5, 1)


@pytest.mark.parametrize(("round_trip", "at_once"), [(0.002, 4), (0.25, 9)])
async def test_the_first_answer_is_spent_in_waves_only_on_a_fast_wire(
    round_trip: float, at_once: int
) -> None:
    """On a fast wire what the first answer shows goes in two waves (another process starting
    on the same bucket shows up in the first wave's answers); on a slow one a wave's answers
    come a latency later, past the refill that caps what was held back, so it all goes at once.
    The first answer's own round trip decides: it was judged before it was remembered, and at
    250 ms half of the first refill was lost to the cap whenever a boundary came soon."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    first = await limiter.acquire("entities")
    await clock.run(clock.now() + round_trip)
    limiter.observe(
        first,
        200,
        parse_rate_headers(
            {
                "X-RateLimit-Replenish-Rate": "10",
                "X-RateLimit-Burst-Capacity": "10",
                "X-RateLimit-Remaining": "9",
                "X-RateLimit-Requested-Tokens": "1",
            }
        ),
    )
    granted: list[Grant] = []

    async def take() -> None:
        while True:
            granted.append(await limiter.acquire("entities"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await clock.run(clock.now() + 0.01)
        tg.cancel_scope.cancel()
    assert len(granted) == at_once


@pytest.mark.parametrize("per_family", [True, False])
async def test_learns_whether_families_share_a_bucket(per_family: bool) -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(
        clock, limits(10, 20), key_of=(lambda family: family) if per_family else lambda _: "all"
    )
    await drive(
        clock,
        limiter,
        server,
        workers=8,
        seconds=20,
        families=("entities", "users"),
        latency=jitter(),
    )
    assert limiter.stats.partition == ("per-family" if per_family else "shared")
    assert limiter.stats.rate == 10  # one bucket's rate, not the sum of the families' buckets
    start = second_of(clock) - 25
    steady = server.count(True, since=start + 10, until=start + 20)
    assert steady >= 0.95 * (20 if per_family else 10) * 10
    assert server.count(False) <= 3


@pytest.mark.parametrize(("rate", "burst", "cost"), [(10, 40, 10), (1, 60, 60)])
@pytest.mark.parametrize("workers", [8, 64])
async def test_costly_requests_of_every_family_start_one_at_a_time(
    rate: int, burst: int, cost: int, workers: int
) -> None:
    """Plan's concurrent reads ask three families at once. Until a response has shown a family's
    cost, its first request goes alone: counted as one token it would let the next ones out
    together, and at ten tokens each three or four of a small run's first requests were refused."""
    clock = VirtualClock()
    limiter = RateLimiter(clock)
    server = Server(clock, limits(rate, burst, cost))
    seconds = 4 if cost <= rate else 130
    await drive(
        clock,
        limiter,
        server,
        workers=workers,
        seconds=seconds,
        families=("entities", "users", "groups"),
        latency=jitter(),
    )
    assert server.count(False) == 0
    assert server.count(True) >= (burst + rate * (seconds - 2)) // cost
    assert limiter.stats.cost == cost
