"""A refused assignment batch is bisected: the good members go through, the bad one is rejected
alone with the API's message, and the extra requests are logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from syncer.apply.bisect import Answer, send_bisected
from syncer.apply.engine import execute
from syncer.apply.journal_keys import stored_key
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.errors import ExitCode
from syncer.progress import progress_for
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import changes
from syncer.usecases import ApplyOptions, apply_firm, open_firm, read_and_plan
from tests.apply.support import fill, settings_for, user, writes

pytestmark = pytest.mark.anyio

GHOST = "0badc0de-0000-4000-8000-000000000000"


async def test_one_unknown_member_no_longer_rejects_the_good_ones(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    staff = [user(n) for n in range(1, 41)]
    await fill(
        migrated_database_url, {"groups": [{"name": "Audit", "description": None}], "users": staff}
    )
    settings = settings_for(simulator, migrated_database_url)
    assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK
    links = [{"group_name": "Audit", "user_email": row["email"]} for row in staff]
    await fill(migrated_database_url, {"group_members": links})

    async with open_firm(settings) as firm:
        plan = (await read_and_plan(firm)).plan
        adds = list(plan.changes)
        assert len(adds) == 40
        adds[17] = replace(adds[17], carry={"member_id": GHOST})  # its user deleted meanwhile
        before = writes(simulator)
        with capture_logs() as logged:
            result = await execute(
                replace(plan, changes=tuple(adds)),
                engine=firm.engine,
                client=firm.client,
                settings=settings,
                clock=firm.clock,
                allow_deletes=False,
                progress=progress_for,
            )
    assert result.exit_code == ExitCode.ROWS_REJECTED
    assert result.counts["group_members"]["add"] == {"done": 39, "rejected": 1}
    members = simulator.control.dump()["objects"]["group_members"]
    assert sum(len(m) for m in members.values()) == 39
    requests = writes(simulator) - before
    bisected = [e for e in logged if e["event"] == "assignment batch bisected"]
    assert [(e["members"], e["rejected"], e["extra_requests"]) for e in bisected] == [
        (40, 1, requests - 1)
    ]
    assert 1 < requests <= 1 + 2 * 6  # one refusal, then two halves per level down to one
    engine = create_engine(migrated_database_url)
    async with engine.connect() as conn:
        refused = (
            await conn.execute(
                select(changes.c.key, changes.c.message).where(changes.c.status == "rejected")
            )
        ).all()
    await engine.dispose()
    assert [(key, GHOST in (message or "")) for key, message in refused] == [
        (stored_key(adds[17].key), True)
    ]


async def test_every_bad_member_is_isolated_and_other_outcomes_are_not_split() -> None:
    sent: list[tuple[int, ...]] = []

    async def send(part: Sequence[int]) -> Answer:
        sent.append(tuple(part))
        bad = [n for n in part if n in (3, 12)]
        if not bad:
            return Answer(Outcome(ChangeStatus.DONE))
        return Answer(Outcome(ChangeStatus.REJECTED, f"unknown users: {bad}"), divisible=True)

    result = await send_bisected(list(range(16)), send)
    rejected = {n: o.message for n, o in result.outcomes if o.status is ChangeStatus.REJECTED}
    assert rejected == {3: "unknown users: [3]", 12: "unknown users: [12]"}
    assert [n for n, _ in result.outcomes] == list(range(16))
    assert result.requests == len(sent) == 15
    assert result.extra_requests == 14

    async def gone(part: Sequence[int]) -> Answer:
        return Answer(Outcome(ChangeStatus.REJECTED, "group not found"))

    whole = await send_bisected([1, 2, 3], gone)
    assert whole.requests == 1
    assert {o.message for _, o in whole.outcomes} == {"group not found"}
