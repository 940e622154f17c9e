"""The run's figures: the rate achieved is apply's own requests over apply's own duration."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from sqlalchemy import select

from syncer.apply.engine import execute
from syncer.clock import ManualClock, utc_now
from syncer.cloud import CloudClient
from syncer.model import OBJECT_KINDS, ObjectKind
from syncer.plan.changes import Action, Change, FieldChange, Plan
from syncer.progress import quiet
from syncer.simulator import RunningSimulator
from syncer.state import RemoteObject
from syncer.store.db import create_engine
from syncer.store.tables import runs
from tests.apply.support import settings_for

pytestmark = pytest.mark.anyio

SECONDS_PER_CREATE = 0.5


class TimedCreates(CloudClient):
    """The real client over HTTP; each create moves the run's manual clock half a second on."""

    clock: ManualClock

    async def create(self, kind: ObjectKind, body: Mapping[str, object]) -> RemoteObject:
        created = await super().create(kind, body)
        self.clock.advance(SECONDS_PER_CREATE)
        return created


def _creates(firm: str, n: int) -> Plan:
    changes = tuple(
        Change(
            "entities",
            Action.CREATE,
            f"R-{i}",
            fields={
                "EntityNo": FieldChange(None, f"R-{i}"),
                "Name": FieldChange(None, f"Client {i}"),
                "OwnerType": FieldChange(None, "Client"),
            },
        )
        for i in range(n)
    )
    return Plan(firm=firm, created_at=utc_now(ManualClock()), fingerprint="f", changes=changes)


async def test_the_achieved_rate_counts_only_what_apply_sent(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    """Planning reads happen before apply's clock starts: counting them over apply's duration
    (as the rate did) made a run that read much and wrote little look faster than its bucket."""
    settings = settings_for(simulator, migrated_database_url, max_in_flight=1)
    clock = ManualClock()
    engine = create_engine(migrated_database_url)
    try:
        async with TimedCreates.open(settings.cloud) as client:
            client.clock = clock
            for n in range(6):  # reads before applying: the token and six lookups
                assert await client.find_by_key(OBJECT_KINDS["entities"], f"X-{n}") is None
            plan_requests = client.stats.requests
            result = await execute(
                _creates(settings.cloud.firm, 4),
                engine=engine,
                client=client,
                settings=settings,
                clock=clock,
                allow_deletes=False,
                progress=quiet,
            )
        async with engine.connect() as conn:
            run = (await conn.execute(select(runs).where(runs.c.id == result.run_id))).one()
    finally:
        await engine.dispose()
    assert result.exit_code == 0
    assert (run.requests, run.plan_requests) == (plan_requests + 4, plan_requests)
    assert plan_requests >= 7
    assert run.achieved_rate == 4 / (4 * SECONDS_PER_CREATE)
