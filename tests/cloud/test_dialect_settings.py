"""The client adapting to a firm that answers otherwise, as ``[cloud.api]`` tells it: renamed
rate-limit headers, another answer for "no such object", lists without a stable order.

Each pair of tests shows the setting doing the work: the same simulator with the client told
nothing fails in the way the setting exists to prevent.
"""

from __future__ import annotations

import uuid

import pytest

from syncer.assumptions import ApiSettings, NotFoundAnswer, RateLimitHeaders
from syncer.cloud.client import CloudClient
from syncer.cloud.errors import NotFound, Rejected
from syncer.cloud.unordered import MAX_READS, read_whole
from syncer.errors import CloudContractBroken, ExitCode
from syncer.model import ENTITIES, GROUPS
from syncer.simulator.dialect import Dialect
from tests.cloud.test_client import settings_for
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio

RENAMED = RateLimitHeaders(
    burst_capacity="RateLimit-Burst-Capacity",
    replenish_rate="RateLimit-Replenish-Rate",
    requested_tokens="RateLimit-Requested-Tokens",
    remaining="RateLimit-Remaining",
)


@pytest.mark.parametrize("told", [True, False])
async def test_renamed_rate_limit_headers_are_learnt_from_when_configured(
    simulator_factory: SimulatorFactory, told: bool
) -> None:
    documented = RateLimitHeaders()
    served = {getattr(documented, h): getattr(RENAMED, h) for h in RateLimitHeaders.model_fields}
    sim = await simulator_factory(dialect=Dialect(header_names=served))
    api = ApiSettings(ratelimit_headers=RENAMED) if told else ApiSettings()
    async with CloudClient.open(settings_for(sim, api=api)) as client:
        await client.list_objects(GROUPS)
        learned = client.limiter_stats
    assert (learned.rate, learned.burst) == ((1000, 1000) if told else (None, None))


@pytest.mark.parametrize("told", [True, False])
async def test_the_firms_not_found_answer_means_gone_and_nothing_else_does(
    simulator_factory: SimulatorFactory, told: bool
) -> None:
    sim = await simulator_factory(dialect=Dialect(not_found_status=400))
    api = ApiSettings(not_found=NotFoundAnswer(status=400, message="has CWGuid"))
    async with CloudClient.open(settings_for(sim, api=api if told else ApiSettings())) as client:
        with pytest.raises(Rejected) as missing:
            await client.delete(GROUPS, str(uuid.uuid4()))
        with pytest.raises(Rejected) as invalid:
            await client.create(ENTITIES, {"EntityNo": "C-1"})  # no Name: a validation 400
    assert missing.value.status == invalid.value.status == 400
    assert isinstance(missing.value, NotFound) is told
    assert not isinstance(invalid.value, NotFound)


@pytest.mark.parametrize("stable_order", [False, True])
async def test_a_list_without_a_stable_order_is_read_until_every_object_was_seen(
    simulator_factory: SimulatorFactory, stable_order: bool
) -> None:
    sim = await simulator_factory(dialect=Dialect(stable_order=False))
    for n in range(60):
        sim.control.seed("entities", {"EntityNo": f"C-{n:03d}", "Name": f"Client {n}"})
    api = ApiSettings(stable_order=stable_order)
    async with CloudClient.open(settings_for(sim, page_size=10, api=api)) as client:
        found = await client.list_objects(ENTITIES)
    numbers = [o.fields["EntityNo"] for o in found]
    if stable_order:  # told the order is stable, the client trusts the pages: some twice
        assert len(numbers) == 60
        assert len(set(numbers)) < 60
    else:
        assert sorted(numbers) == [f"C-{n:03d}" for n in range(60)]


async def test_a_list_that_keeps_missing_objects_ends_the_run_as_a_broken_promise() -> None:
    reads = 0

    async def read_once() -> list[str]:
        nonlocal reads
        reads += 1
        return ["a", "a", "b"]  # three objects, one never seen

    with pytest.raises(CloudContractBroken) as broken:
        await read_whole(read_once, "GET entities")
    assert broken.value.exit_code == ExitCode.CLOUD_CONTRACT
    assert "2 of its 3 objects seen in 5 reads" in str(broken.value)
    assert reads == MAX_READS
