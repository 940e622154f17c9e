"""An assignment's ends are a ``LinkKey``, not a string cut at a ``|``: a group named ``R|D``
goes through plan -> JSON -> read back -> apply against the simulator with the right members;
two assignments with one display text stay two; a journal written by an older version resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from syncer.errors import ExitCode
from syncer.model import LinkKey
from syncer.plan import key_text, plan_from_json, plan_to_json
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.tables import changes, failed_keys, runs
from syncer.usecases import ApplyOptions, apply_firm, plan_firm
from tests.apply.support import fill, objects, settings_for, user

pytestmark = pytest.mark.anyio

ROWS: dict[str, list[dict[str, object]]] = {
    "groups": [{"name": "R|D"}, {"name": "R"}],
    "users": [user(1), user(2)],
    "group_members": [
        # Read as text, "R|D|user1@..." could be R|D + user1 or R + "D|user1@...".
        {"group_name": "R|D", "user_email": "user1@example.com"},
        {"group_name": "R", "user_email": "user2@example.com"},
    ],
}


async def test_a_bar_in_a_group_name_survives_plan_json_and_apply(
    simulator: RunningSimulator, migrated_database_url: str, tmp_path: Path
) -> None:
    await fill(migrated_database_url, ROWS)
    settings = settings_for(simulator, migrated_database_url)
    plan = (await plan_firm(settings)).plan
    saved = tmp_path / "plan.json"
    saved.write_bytes(plan_to_json(plan))

    links = {c.key for c in plan_from_json(saved.read_bytes()).changes if c.kind == "group_members"}
    assert links == {LinkKey("R|D", "user1@example.com"), LinkKey("R", "user2@example.com")}

    result = await apply_firm(settings, ApplyOptions(plan_file=saved))

    assert result.exit_code == ExitCode.OK, result.message
    group_names = {g["CWGuid"]: g["Name"] for g in objects(simulator, "groups")}
    emails = {u["CWGuid"]: u["Email"] for u in objects(simulator, "users")}
    members = simulator.control.dump()["objects"]["group_members"]
    assert {group_names[g]: [emails[u] for u in m] for g, m in members.items()} == {
        "R|D": ["user1@example.com"],
        "R": ["user2@example.com"],
    }


TWINS: dict[str, list[dict[str, object]]] = {
    "groups": [{"name": "R|D"}, {"name": "R"}],
    "users": [user(1, email="x|y@example.com"), user(2, email="D|x|y@example.com")],
    "group_members": [
        # Both read "R|D|x|y@example.com" as text: two assignments, one display key.
        {"group_name": "R|D", "user_email": "x|y@example.com"},
        {"group_name": "R", "user_email": "D|x|y@example.com"},
    ],
}


async def test_two_assignments_with_the_same_display_key_stay_two(
    simulator: RunningSimulator, migrated_database_url: str, tmp_path: Path
) -> None:
    """Both ends hold ``|``: the plan, its JSON, the journal and Cloud keep the two apart, and
    the next plan finds nothing left to do."""
    await fill(migrated_database_url, TWINS)
    settings = settings_for(simulator, migrated_database_url)
    saved = tmp_path / "plan.json"
    saved.write_bytes(plan_to_json((await plan_firm(settings)).plan))
    read_back = [c for c in plan_from_json(saved.read_bytes()).changes if c.kind == "group_members"]
    assert {key_text(c.key) for c in read_back} == {"R|D|x|y@example.com"}
    assert {c.key for c in read_back} == {
        LinkKey("R|D", "x|y@example.com"),
        LinkKey("R", "D|x|y@example.com"),
    }

    result = await apply_firm(settings, ApplyOptions(plan_file=saved))

    assert result.exit_code == ExitCode.OK, result.message
    assert result.counts["group_members"]["add"] == {"done": 2}
    group_names = {g["CWGuid"]: g["Name"] for g in objects(simulator, "groups")}
    emails = {u["CWGuid"]: u["Email"] for u in objects(simulator, "users")}
    members = simulator.control.dump()["objects"]["group_members"]
    assert {group_names[g]: [emails[u] for u in m] for g, m in members.items()} == {
        "R|D": ["x|y@example.com"],
        "R": ["D|x|y@example.com"],
    }
    assert (await plan_firm(settings)).plan.changes == ()
    engine = create_engine(migrated_database_url)
    try:
        async with engine.connect() as conn:
            journaled = (
                await conn.scalars(select(changes.c.key).where(changes.c.kind == "group_members"))
            ).all()
    finally:
        await engine.dispose()
    assert sorted(journaled) == ["R\\|D|x\\|y@example.com", "R|D\\|x\\|y@example.com"]


OLD_ROWS: dict[str, list[dict[str, object]]] = {
    "groups": [{"name": "Audit"}],
    "users": [user(1), user(2)],
    "group_members": [
        {"group_name": "Audit", "user_email": "user1@example.com"},
        {"group_name": "Audit", "user_email": "user2@example.com"},
    ],
}


async def test_a_journal_an_older_version_wrote_still_resumes(
    simulator: RunningSimulator, migrated_database_url: str
) -> None:
    """Rows as a version keyed by display text left them: a run killed with one assignment sent,
    and an earlier rejection of another still waiting out its delay. The next run closes the
    dead one, sends the first again and holds the second back, matched by its old key."""
    await fill(migrated_database_url, OLD_ROWS)
    now = datetime.now(UTC)
    firm = simulator.firm
    engine = create_engine(migrated_database_url)
    try:
        async with engine.begin() as conn:
            run_id = await conn.scalar(
                insert(runs)
                .values(firm=firm, command="apply", started_at=now, status="running", counts={})
                .returning(runs.c.id)
            )
            await conn.execute(
                insert(changes),
                [
                    _old_row(run_id, firm, "Audit|user1@example.com", "sent", now),
                    _old_row(run_id, firm, "Audit|user2@example.com", "rejected", now),
                ],
            )
            await conn.execute(
                insert(failed_keys).values(
                    firm=firm,
                    kind="group_members",
                    key="Audit|user2@example.com",
                    failures=1,
                    last_error="no such user",
                    last_failed_at=now,
                    next_attempt_at=now + timedelta(hours=6),
                )
            )
    finally:
        await engine.dispose()

    result = await apply_firm(settings_for(simulator, migrated_database_url), ApplyOptions())

    assert result.counts["group_members"]["add"] == {"done": 1, "deferred": 1}
    members = simulator.control.dump()["objects"]["group_members"]
    emails = {u["CWGuid"]: u["Email"] for u in objects(simulator, "users")}
    assert [emails[u] for m in members.values() for u in m] == ["user1@example.com"]
    engine = create_engine(migrated_database_url)
    try:
        async with engine.connect() as conn:
            statuses = (await conn.scalars(select(runs.c.status).order_by(runs.c.id))).all()
    finally:
        await engine.dispose()
    assert statuses == ["interrupted", "rejected"]


def _old_row(run_id: int, firm: str, key: str, status: str, now: datetime) -> dict[str, object]:
    return {
        "run_id": run_id,
        "firm": firm,
        "change_id": f"group_members:add:{key}",
        "kind": "group_members",
        "action": "add",
        "key": key,
        "status": status,
        "attempts": 1,
        "updated_at": now,
    }
