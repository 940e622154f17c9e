"""The limiter as a client meets it: headers everywhere, 429s, keying modes, live changes."""

from __future__ import annotations

import aiohttp
import pytest

from syncer.clock import ManualClock
from syncer.simulator import Faults, Keying, Limits, NoisyNeighbour, RunningSimulator
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.conftest import Api

pytestmark = pytest.mark.anyio


async def limited(
    factory: SimulatorFactory, http: aiohttp.ClientSession, **limits: object
) -> tuple[Api, ManualClock]:
    clock = ManualClock()
    running = await factory(clock=clock, limits=Limits.model_validate(limits))
    return Api(http, running), clock


def expected_headers(capacity: int, rate: int, requested: int, remaining: int) -> dict[str, str]:
    return {
        "x-ratelimit-burst-capacity": str(capacity),
        "x-ratelimit-replenish-rate": str(rate),
        "x-ratelimit-requested-tokens": str(requested),
        "x-ratelimit-remaining": str(remaining),
    }


async def test_auth_success_and_failure_carry_the_headers(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(simulator_factory, http, replenish_rate=1, burst_capacity=5)
    ok = await api.authenticate()
    assert ok.limit_headers() == expected_headers(5, 1, 1, 4)
    bad = await api.authenticate(secret="wrong")
    assert bad.status == 401
    assert bad.limit_headers() == expected_headers(5, 1, 1, 3)


async def test_429_has_empty_body_all_headers_and_no_retry_after(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, clock = await limited(simulator_factory, http, replenish_rate=1, burst_capacity=2)
    await api.authenticate()
    assert (await api.call("GET", "roles")).limit_headers() == expected_headers(2, 1, 1, 0)
    denied = await api.call("GET", "roles")
    assert denied.status == 429
    assert denied.raw == b""
    assert denied.limit_headers() == expected_headers(2, 1, 1, 0)
    assert "Retry-After" not in denied.headers
    assert not any("reset" in name.lower() for name in denied.headers)
    clock.advance(1)
    assert (await api.call("GET", "roles")).status == 200
    stats = api.running.control.snapshot_stats()
    assert (stats["allowed"], stats["denied"]) == (3, 1)
    assert stats["by_route"]["GET roles"] == {"200": 2, "429": 1}


async def test_per_second_stats_follow_the_server_clock(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, clock = await limited(simulator_factory, http, replenish_rate=2, burst_capacity=2)
    await api.authenticate()
    for calls in (2, 2, 1):
        for _ in range(calls):
            await api.call("GET", "roles")
        clock.advance(1)
    seconds = api.running.control.snapshot_stats()["per_second"]
    assert [(s["allowed"], s["denied"]) for s in seconds] == [(2, 1), (2, 0), (1, 0)]
    assert seconds[1]["second"] - seconds[0]["second"] == 1


async def test_requested_tokens_above_one(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, clock = await limited(
        simulator_factory, http, replenish_rate=1, burst_capacity=60, requested_tokens=60
    )
    assert (await api.authenticate()).limit_headers()["x-ratelimit-remaining"] == "0"
    denied = await api.call("GET", "roles")
    assert (denied.status, denied.limit_headers()["x-ratelimit-remaining"]) == (429, "0")
    clock.advance(59)
    assert (await api.call("GET", "roles")).limit_headers()["x-ratelimit-remaining"] == "59"
    clock.advance(1)
    assert (await api.call("GET", "roles")).status == 200


async def test_capacity_zero_blocks_even_auth(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(simulator_factory, http, replenish_rate=5, burst_capacity=0)
    reply = await api.authenticate()
    assert (reply.status, reply.limit_headers()["x-ratelimit-remaining"]) == (429, "0")


async def test_unlimited_auth_draws_nothing_and_sends_no_headers(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(
        simulator_factory, http, replenish_rate=1, burst_capacity=1, auth_limited=False
    )
    for _ in range(3):
        reply = await api.authenticate()
        assert reply.status == 200
        assert reply.limit_headers() == {}
    assert (await api.call("GET", "roles")).limit_headers()["x-ratelimit-remaining"] == "0"


async def test_client_keying_shares_one_bucket_across_sessions_and_routes(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(simulator_factory, http, replenish_rate=1, burst_capacity=4)
    await api.authenticate()
    first = api.token
    await api.authenticate()
    assert (await api.call("GET", "roles", token=first)).limit_headers()[
        "x-ratelimit-remaining"
    ] == "1"
    assert (await api.call("GET", "groups")).limit_headers()["x-ratelimit-remaining"] == "0"


async def test_route_keying_gives_each_family_its_own_bucket(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(
        simulator_factory, http, replenish_rate=1, burst_capacity=2, keying="route"
    )
    assert (await api.authenticate()).limit_headers()["x-ratelimit-remaining"] == "1"
    for family in ("entities", "users", "groups", "roles"):
        assert (await api.call("GET", family)).limit_headers()["x-ratelimit-remaining"] == "1"
    assert (await api.call("GET", "entities")).limit_headers()["x-ratelimit-remaining"] == "0"
    assert (await api.call("GET", "entities")).status == 429
    assert (await api.call("GET", "users")).status == 200
    buckets = api.running.control.dump()["buckets"]
    client = api.running.client_id
    assert set(buckets) == {
        f"request_rate_limiter.{{{family}.{client}}}"
        for family in ("auth", "entities", "users", "groups", "roles")
    }


async def test_session_keying_gives_each_session_its_own_bucket(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(
        simulator_factory, http, replenish_rate=1, burst_capacity=3, keying="session"
    )
    await api.authenticate()
    first = api.token
    await api.authenticate()  # the client's auth bucket: 3 -> 2 -> 1
    assert (await api.call("GET", "roles", token=first)).limit_headers()[
        "x-ratelimit-remaining"
    ] == "2"
    assert (await api.call("GET", "roles")).limit_headers()["x-ratelimit-remaining"] == "2"


async def test_two_clients_have_separate_buckets(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(simulator_factory, http, replenish_rate=1, burst_capacity=1)
    await api.authenticate()
    other = api.running.control.register_client()
    other_api = Api(http, api.running)
    assert (await other_api.authenticate(other.client_id, other.client_secret)).status == 200
    assert (await api.call("GET", "roles")).status == 429


async def test_limits_change_while_running(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, clock = await limited(simulator_factory, http, replenish_rate=1, burst_capacity=10)
    await api.authenticate()  # 9 left
    reply = await api.control("PATCH", "limits", {"burst_capacity": 3, "requested_tokens": 2})
    assert reply.json["burst_capacity"] == 3
    clock.advance(1)
    changed = await api.call("GET", "roles")  # min(3, 9 + 1) - 2
    assert changed.limit_headers() == expected_headers(3, 1, 2, 1)
    assert (await api.control("PATCH", "limits", {"burst_capacity": -1})).status == 400
    assert (await api.control("PATCH", "limits", {"colour": 1})).status == 400
    assert (await api.control("GET", "limits")).json["burst_capacity"] == 3


async def test_fail_open_passes_with_remaining_minus_one(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    api, _ = await limited(
        simulator_factory, http, replenish_rate=1, burst_capacity=1, fail_open_share=1.0
    )
    await api.authenticate()
    for _ in range(3):
        reply = await api.call("GET", "roles")
        assert (reply.status, reply.limit_headers()["x-ratelimit-remaining"]) == (200, "-1")


async def test_noisy_neighbour_drains_the_clients_bucket(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    clock = ManualClock()
    running: RunningSimulator = await simulator_factory(
        clock=clock, limits=Limits(replenish_rate=5, burst_capacity=10, keying=Keying.CLIENT)
    )
    api = Api(http, running)
    running.control.set_faults(
        Faults(noisy_neighbours=(NoisyNeighbour(client_id=running.client_id, tokens_per_second=4),))
    )
    assert (await api.authenticate()).limit_headers()["x-ratelimit-remaining"] == "5"  # 10-4-1
    clock.advance(2)  # each second: +5 (capped at 10), -4 by the neighbour; then ours
    assert (await api.call("GET", "roles")).limit_headers()["x-ratelimit-remaining"] == "5"
