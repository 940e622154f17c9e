"""``[cloud.api].ratelimit_keying`` at run time: CloudClient over loopback HTTP in virtual time.

The client composes one limiter per bucket the configured keying says the server keeps
(``syncer.cloud.keying``). Against a server keyed per session, N sessions must give N buckets' rate
without a 429; told ``client`` instead, the client keeps to one bucket's model. Against a server
keyed per route, ``route`` models each family apart from the first request. The figures are the
simulator's own counters.
"""

from __future__ import annotations

import math

import pytest

from syncer.assumptions import ApiSettings
from syncer.cloud.client import CloudClient
from syncer.cloud.ratelimit import LimiterStats
from syncer.model import ENTITIES, USERS
from syncer.settings import CloudSettings
from syncer.simulator import Limits, RunningSimulator
from tests.cloud.test_limiter_e2e import allowed_between, hammer
from tests.cloud.virtual_time import VirtualClock
from tests.fixtures.simulator import SimulatorFactory, cloud_settings

pytestmark = pytest.mark.anyio

RATE = 10
SECONDS = 20
STEADY_FROM = 6


def settings_for(sim: RunningSimulator, keying: str, pool_size: int) -> CloudSettings:
    return cloud_settings(
        sim,
        max_in_flight=32,
        pool_size=pool_size,
        api=ApiSettings(ratelimit_keying=keying),  # type: ignore[arg-type]
    )


async def steady_rate(
    simulator_factory: SimulatorFactory,
    *,
    server: str,
    keying: str,
    pool_size: int,
    steady_from: int = STEADY_FROM,
) -> tuple[float, int, LimiterStats]:
    """Requests/s the server allowed from ``steady_from`` to the end of a run, its 429s, and
    what the client's limiters learned."""
    clock = VirtualClock()
    sim = await simulator_factory(
        clock=clock,
        limits=Limits(replenish_rate=RATE, burst_capacity=RATE, keying=server, auth_limited=False),
    )
    start = math.floor(clock.now())
    async with CloudClient.open(settings_for(sim, keying, pool_size), clock=clock) as client:
        await hammer(clock, client, (ENTITIES, USERS), workers=16, seconds=SECONDS)
        learned = client.limiter_stats
        assert client.stats.throttled == sim.control.snapshot_stats()["denied"]
    stats = sim.control.snapshot_stats()
    window = SECONDS - 1 - steady_from
    steady = allowed_between(stats, start + steady_from, start + SECONDS - 1) / window
    return steady, stats["denied"], learned


@pytest.mark.parametrize("pool_size", [1, 2, 3])
async def test_session_keying_gives_each_session_its_bucket(
    simulator_factory: SimulatorFactory, pool_size: int
) -> None:
    rate, denied, learned = await steady_rate(
        simulator_factory, server="session", keying="session", pool_size=pool_size
    )
    assert learned.partition == "per-session"
    assert learned.rate == pool_size * RATE
    assert rate >= 0.9 * pool_size * RATE
    assert rate <= pool_size * RATE
    assert denied == 0


async def test_client_keying_against_session_buckets_keeps_to_one_bucket(
    simulator_factory: SimulatorFactory,
) -> None:
    """Told one bucket per client, two sessions' answers look like one bucket refilled twice as
    fast: the limiter must not be refused for it, and gains at most what it can see."""
    rate, denied, _ = await steady_rate(
        simulator_factory, server="session", keying="client", pool_size=2
    )
    assert 0.9 * RATE <= rate <= 1.1 * RATE
    assert denied <= 2


async def test_route_keying_models_each_family_from_the_start(
    simulator_factory: SimulatorFactory,
) -> None:
    """Two families, a bucket each: from the first second on, both rates are used. (Told
    ``client``, the limiter learns the split from the headers: in the same run it reaches
    18.1 requests/s from second 1, against 19.9 here; both reach 20 from second 4.)"""
    rate, denied, learned = await steady_rate(
        simulator_factory, server="route", keying="route", pool_size=1, steady_from=1
    )
    assert (learned.partition, learned.rate) == ("per-family", 2 * RATE)
    assert rate >= 0.97 * 2 * RATE
    assert denied == 0
