"""``apply_firm`` end to end against the simulator over loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import select

from syncer.apply.engine import execute
from syncer.apply.journal import Entry, Journal
from syncer.apply.lock import RunLock
from syncer.clock import SystemClock
from syncer.errors import CredentialsRejected, ExitCode, RunLocked
from syncer.history import recent_runs
from syncer.metrics import read_run_metrics
from syncer.plan.changes import Action, Change, FieldChange
from syncer.plan.serialise import plan_to_json
from syncer.progress import progress_for
from syncer.settings import ApplySettings, Settings, SyncMode, SyncSettings
from syncer.simulator import Limits, RunningSimulator
from syncer.state import Origin
from syncer.store.db import create_engine
from syncer.store.idmap import read_id_map
from syncer.store.tables import changes, desired_tables, runs
from syncer.usecases import ApplyOptions, StalePlan, apply_firm, open_firm, read_and_plan
from tests.apply.support import (
    creates,
    entity,
    fill,
    objects,
    settings_for,
    user,
    wait_until,
    writes,
)
from tests.fixtures.simulator import SimulatorFactory

pytestmark = pytest.mark.anyio

FIRM_ROWS: dict[str, list[dict[str, object]]] = {
    "groups": [
        {"name": "Audit", "description": "Audit team"},
        {"name": "Tax", "description": None},
    ],
    "entities": [entity(n) for n in range(1, 6)],
    "users": [user(n) for n in range(1, 5)],
    "group_members": [
        {"group_name": "Audit", "user_email": "user1@example.com"},
        {"group_name": "Audit", "user_email": "user2@example.com"},
        {"group_name": "Tax", "user_email": "user3@example.com"},
    ],
    "user_roles": [
        {"user_email": "user1@example.com", "role_name": "Admin"},
        {"user_email": "user2@example.com", "role_name": "Viewer"},
    ],
}


@pytest.fixture
def url(migrated_database_url: str) -> str:
    return migrated_database_url


async def _journal(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(changes.c.change_id, changes.c.status).order_by(changes.c.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [(row.change_id, row.status) for row in rows]


async def _owned(url: str, firm: str) -> dict[tuple[str, str], Origin]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {k: own.origin for k, own in (await read_id_map(conn, firm)).items()}
    finally:
        await engine.dispose()


async def test_full_migration_into_an_empty_firm_then_nothing_to_do(
    simulator: RunningSimulator, url: str
) -> None:
    await fill(url, FIRM_ROWS)
    settings = settings_for(simulator, url)

    result = await apply_firm(settings, ApplyOptions())

    assert result.exit_code == ExitCode.OK, result.message
    assert sorted(o["EntityNo"] for o in objects(simulator, "entities")) == [
        f"C-{n:04d}" for n in range(1, 6)
    ]
    assert len(objects(simulator, "users")) == 4
    assert all(count == 1 for count in creates(simulator, "users").values())
    dump = simulator.control.dump()["objects"]
    members = {guid: sorted(m) for guid, m in dump["group_members"].items()}
    assert sorted(len(m) for m in members.values()) == [1, 2]
    roles = {u["Email"]: u.get("FirmWideRoleIds") for u in objects(simulator, "users")}
    assert roles["user1@example.com"] == [1]
    owned = await _owned(url, simulator.firm)
    assert len(owned) == 2 + 5 + 4
    assert set(owned.values()) == {Origin.CREATED}
    assert {status for _, status in await _journal(url)} == {"done"}

    before = writes(simulator)
    again = await apply_firm(settings, ApplyOptions())
    assert again.exit_code == ExitCode.OK
    assert writes(simulator) == before, "a second run must send no write request"
    assert again.counts == {}


async def test_a_rejected_row_is_recorded_and_the_rest_goes_through(
    simulator: RunningSimulator, url: str
) -> None:
    await fill(url, {"entities": [entity(1), entity(2, name=None), entity(3)]})
    result = await apply_firm(settings_for(simulator, url), ApplyOptions())
    assert result.exit_code == ExitCode.ROWS_REJECTED
    assert result.counts["entities"]["create"] == {"done": 2, "rejected": 1}
    assert "1 rejected" in (result.message or "")
    journal = dict(await _journal(url))
    assert journal["entities:create:C-0002"] == "rejected"
    # The same row, unchanged, waits for its retry time instead of being sent again.
    before = writes(simulator)
    again = await apply_firm(settings_for(simulator, url), ApplyOptions())
    assert again.exit_code == ExitCode.ROWS_REJECTED
    assert again.counts["entities"]["create"] == {"deferred": 1}
    assert writes(simulator) == before


async def test_a_409_adopts_the_existing_object_and_updates_it(
    simulator: RunningSimulator, url: str
) -> None:
    """Another program creates the object between planning and sending: the create meets a 409,
    the object is looked up by key, adopted, and updated to the desired values."""
    await fill(url, {"entities": [entity(1, name="Wanted name")]})
    settings = settings_for(simulator, url)
    async with open_firm(settings) as firm:
        snapshot = await read_and_plan(firm)
        assert [c.action for c in snapshot.plan.changes] == ["create"]
        simulator.control.seed("entities", {"EntityNo": "C-0001", "Name": "Old name"})
        result = await execute(
            snapshot.plan,
            engine=firm.engine,
            client=firm.client,
            settings=settings,
            clock=firm.clock,
            allow_deletes=False,
            progress=progress_for,
        )
    assert result.exit_code == ExitCode.OK, result.message
    assert [o["Name"] for o in objects(simulator, "entities")] == ["Wanted name"]
    assert simulator.control.snapshot_stats()["create_conflicts"] == {"entities": {"C-0001": 1}}
    assert await _owned(url, simulator.firm) == {("entities", "C-0001"): Origin.ADOPTED}


async def test_lost_answers_to_applied_writes_create_no_duplicate(
    simulator: RunningSimulator, url: str
) -> None:
    """503s and dropped connections after the write was applied: every create is looked up
    before it is tried again, so each key is created exactly once."""
    await fill(url, {"entities": [entity(n) for n in range(1, 21)]})
    simulator.control.set_faults(seed=3, error_share=0.25, drop_share=0.1, after_write=True)
    settings = settings_for(simulator, url, max_retries=8)
    for _ in range(3):
        result = await apply_firm(settings, ApplyOptions())
        if result.exit_code == ExitCode.OK:
            break
    assert result.exit_code == ExitCode.OK, result.message
    assert len(objects(simulator, "entities")) == 20
    assert set(creates(simulator, "entities").values()) == {1}
    owned = await _owned(url, simulator.firm)
    assert set(owned.values()) == {Origin.CREATED}
    assert len(owned) == 20


async def test_a_secret_reset_mid_run_exits_77_and_a_later_run_resumes(
    simulator_factory: SimulatorFactory, migrated_database_url: str
) -> None:
    sim = await simulator_factory(limits=Limits(replenish_rate=10, burst_capacity=10))
    await fill(migrated_database_url, {"entities": [entity(n) for n in range(1, 31)]})
    settings = settings_for(sim, migrated_database_url, max_in_flight=4)
    new_secret = ""

    async def reset_when_under_way() -> None:
        nonlocal new_secret
        await wait_until(lambda: len(creates(sim, "entities")) >= 5)
        new_secret = sim.control.reset_secret(sim.client_id)

    failures: list[CredentialsRejected] = []

    async def apply_until_refused() -> None:
        try:
            await apply_firm(settings, ApplyOptions())
        except CredentialsRejected as exc:
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reset_when_under_way)
        await apply_until_refused()
    assert [f.exit_code for f in failures] == [ExitCode.CREDENTIALS_REJECTED]
    assert 5 <= len(objects(sim, "entities")) < 30
    statuses = {status for _, status in await _journal(migrated_database_url)}
    assert "sent" not in statuses

    sim.control.set_limits(replenish_rate=1000, burst_capacity=1000)
    resumed = await apply_firm(
        settings_for(sim, migrated_database_url, secret=new_secret), ApplyOptions()
    )
    assert resumed.exit_code == ExitCode.OK, resumed.message
    assert len(objects(sim, "entities")) == 30
    assert set(creates(sim, "entities").values()) == {1}
    assert len(await _owned(migrated_database_url, sim.firm)) == 30
    assert {s for _, s in await _journal(migrated_database_url)} <= {"done", "skipped"}


async def test_blocked_retirements_are_held_until_allowed(
    simulator: RunningSimulator, url: str
) -> None:
    await fill(url, {"entities": [entity(n) for n in range(1, 7)]})
    mirror = SyncSettings(
        modes={"entities": SyncMode.MIRROR}, retire_threshold_count=2, retire_threshold_ratio=0.1
    )
    settings = settings_for(simulator, url, sync=mirror)
    assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK

    engine = create_engine(url)
    async with engine.begin() as conn:
        table = desired_tables["entities"]
        await conn.execute(table.delete().where(table.c.entity_no != "C-0001"))
        await conn.execute(table.insert().values(**entity(7)))
    await engine.dispose()

    held = await apply_firm(settings, ApplyOptions())
    assert held.exit_code == ExitCode.SAFETY_STOP
    assert "5 retirement(s) blocked" in (held.message or "")
    assert "--allow-deletes" in (held.message or "")
    assert held.counts["entities"] == {"create": {"done": 1}, "deactivate": {"blocked": 5}}
    assert all(o["Type"] == "A" for o in objects(simulator, "entities"))

    released = await apply_firm(settings, ApplyOptions(allow_deletes=True))
    assert released.exit_code == ExitCode.OK
    inactive = sorted(o["EntityNo"] for o in objects(simulator, "entities") if o["Type"] == "I")
    assert inactive == [f"C-{n:04d}" for n in range(2, 7)]


async def test_a_blocked_deactivation_keeps_the_users_groups_and_roles(
    simulator: RunningSimulator, url: str
) -> None:
    """Two of four users leave past the threshold: their deactivations are blocked, and their
    memberships and roles stay too (held back with them) until ``--allow-deletes``."""
    await fill(url, FIRM_ROWS)
    mirror = SyncSettings(
        modes=dict.fromkeys(("users", "group_members", "user_roles"), SyncMode.MIRROR),
        retire_threshold_count=1,
        retire_threshold_ratio=0.1,
    )
    settings = settings_for(simulator, url, sync=mirror)
    assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK
    before = simulator.control.dump()["objects"]

    engine = create_engine(url)
    async with engine.begin() as conn:
        leavers = ("user1@example.com", "user3@example.com")
        for kind, column in (("users", "email"), ("group_members", "user_email")):
            table = desired_tables[kind]
            await conn.execute(table.delete().where(table.c[column].in_(leavers)))
        roles = desired_tables["user_roles"]
        await conn.execute(roles.delete().where(roles.c.user_email.in_(leavers)))
    await engine.dispose()

    held = await apply_firm(settings, ApplyOptions())
    assert held.exit_code == ExitCode.SAFETY_STOP
    assert held.counts["users"] == {"deactivate": {"blocked": 2}}
    assert held.counts["group_members"] == {"remove": {"blocked": 2}}
    assert held.counts["user_roles"] == {"remove": {"blocked": 1}}
    assert simulator.control.dump()["objects"]["group_members"] == before["group_members"]
    assert all(
        u["Type"] == "A" and u.get("FirmWideRoleIds")
        for u in objects(simulator, "users")
        if u["Email"] in ("user1@example.com", "user2@example.com")
    )

    released = await apply_firm(settings, ApplyOptions(allow_deletes=True))
    assert released.exit_code == ExitCode.OK, released.message
    members = simulator.control.dump()["objects"]["group_members"]
    assert sum(len(m) for m in members.values()) == 1
    by_email = {u["Email"]: u for u in objects(simulator, "users")}
    assert by_email["user1@example.com"]["Type"] == "I"
    assert not by_email["user1@example.com"].get("FirmWideRoleIds")


async def test_the_run_counts_planning_reads_apart_from_the_writes(
    simulator: RunningSimulator, url: str
) -> None:
    """``requests`` is the whole run; ``plan_requests`` the token and the reads the plan came
    from; what is left was sent while applying: here exactly the three creates."""
    await fill(url, {"entities": [entity(n) for n in range(1, 4)]})
    settings = settings_for(simulator, url)
    for expected_writes in (3, 0):  # then a run with nothing to do
        before = writes(simulator)
        assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK
        engine = create_engine(url)
        try:
            (record,) = await recent_runs(engine, last=1)
        finally:
            await engine.dispose()
        assert record.apply_requests == writes(simulator) - before == expected_writes
        assert record.plan_requests is not None
        assert record.plan_requests + record.apply_requests == record.requests
        assert record.plan_requests >= 1 + 4, "a token and a list per object kind at least"
    engine = create_engine(url)
    try:
        (metrics,) = await read_run_metrics(engine, [record.id])
    finally:
        await engine.dispose()
    assert (metrics.plan_requests, metrics.apply_requests) == (record.plan_requests, 0)


async def test_a_second_run_is_refused_while_the_lock_is_held(
    simulator: RunningSimulator, url: str
) -> None:
    engine = create_engine(url)
    try:
        async with RunLock(engine, simulator.firm).hold():
            with pytest.raises(RunLocked) as caught:
                await apply_firm(settings_for(simulator, url), ApplyOptions())
    finally:
        await engine.dispose()
    assert caught.value.exit_code is ExitCode.LOCKED


async def _saved_plan(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> tuple[Settings, Path]:
    """Desired state of one client, and its plan saved as a reviewer would keep it."""
    await fill(url, {"entities": [entity(1)]})
    settings = settings_for(simulator, url)
    async with open_firm(settings) as firm:
        snapshot = await read_and_plan(firm)
    saved = tmp_path / "plan.json"
    saved.write_bytes(plan_to_json(snapshot.plan))
    return settings, saved


async def test_a_stale_saved_plan_is_refused(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    settings, saved = await _saved_plan(simulator, url, tmp_path)
    simulator.control.seed("entities", {"EntityNo": "X-1", "Name": "Someone else's"})
    with pytest.raises(StalePlan, match="stale"):
        await apply_firm(settings, ApplyOptions(plan_file=saved))
    assert objects(simulator, "entities")[0]["EntityNo"] == "X-1"
    assert len(objects(simulator, "entities")) == 1


async def test_a_fresh_saved_plan_is_carried_out(
    simulator: RunningSimulator, url: str, tmp_path: Path
) -> None:
    settings, saved = await _saved_plan(simulator, url, tmp_path)
    result = await apply_firm(settings, ApplyOptions(plan_file=saved))
    assert result.exit_code == ExitCode.OK
    assert creates(simulator, "entities") == {"C-0001": 1}


async def test_the_error_rate_guard_stops_a_run_that_mostly_fails(
    simulator: RunningSimulator, url: str
) -> None:
    rows = [entity(n, name=None if n % 2 else f"Client {n}") for n in range(1, 21)]
    await fill(url, {"entities": rows})
    settings = settings_for(simulator, url, max_in_flight=1).model_copy(
        update={"apply": ApplySettings(error_rate_threshold=0.4, error_rate_min_attempts=10)}
    )
    result = await apply_firm(settings, ApplyOptions())
    assert result.exit_code == ExitCode.SAFETY_STOP
    assert "error-rate guard" in (result.message or "")
    assert result.counts["entities"]["create"] == {"done": 5, "rejected": 5, "skipped": 10}
    assert len(objects(simulator, "entities")) == 5


async def test_creates_a_dead_run_left_sent_are_settled_by_lookup_before_planning(
    simulator: RunningSimulator, url: str
) -> None:
    """A run died after sending two creates: one reached Cloud, one did not. The next run finds
    the first by its key (done, owned as created, not sent again) and creates only the second."""
    await fill(url, {"entities": [entity(1), entity(2)]})
    landed, lost = (
        Change("entities", Action.CREATE, key, fields={"Name": FieldChange(None, "x")})
        for key in ("C-0001", "C-0002")
    )
    engine = create_engine(url)
    try:
        dead = await Journal.begin(engine, simulator.firm, "apply", None, SystemClock())
        await dead.enter([Entry(landed), Entry(lost)])
        await dead.sent([landed, lost], {})
    finally:
        await engine.dispose()
    simulator.control.seed("entities", {"EntityNo": "C-0001", "Name": "Client 1"})

    result = await apply_firm(settings_for(simulator, url), ApplyOptions())

    assert result.exit_code == ExitCode.OK, result.message
    assert creates(simulator, "entities") == {"C-0002": 1}, "C-0001 must not be sent again"
    assert await _owned(url, simulator.firm) == {
        ("entities", "C-0001"): Origin.CREATED,
        ("entities", "C-0002"): Origin.CREATED,
    }
    journal = await _journal(url)
    assert journal[:2] == [
        ("entities:create:C-0001", "done"),
        ("entities:create:C-0002", "skipped"),
    ]
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            statuses = (await conn.scalars(select(runs.c.status).order_by(runs.c.id))).all()
    finally:
        await engine.dispose()
    assert statuses == ["interrupted", "succeeded"]


async def test_a_deleted_group_leaves_the_id_map(simulator: RunningSimulator, url: str) -> None:
    groups = [{"name": "Audit", "description": None}, {"name": "Tax", "description": None}]
    await fill(url, {"groups": groups})
    settings = settings_for(simulator, url, sync=SyncSettings(modes={"groups": SyncMode.MIRROR}))
    assert (await apply_firm(settings, ApplyOptions())).exit_code == ExitCode.OK
    engine = create_engine(url)
    async with engine.begin() as conn:
        table = desired_tables["groups"]
        await conn.execute(table.delete().where(table.c.name == "Tax"))
    await engine.dispose()

    result = await apply_firm(settings, ApplyOptions())

    assert result.counts == {"groups": {"delete": {"done": 1}}}
    assert [g["Name"] for g in objects(simulator, "groups")] == ["Audit"]
    assert await _owned(url, simulator.firm) == {("groups", "audit"): Origin.CREATED}


async def test_invalid_desired_rows_are_never_sent_and_end_the_run_with_exit_3(
    simulator: RunningSimulator, url: str
) -> None:
    await fill(url, {"users": [user(1), user(2, owner_type="Employee")]})
    result = await apply_firm(settings_for(simulator, url), ApplyOptions())
    assert result.exit_code == ExitCode.ROWS_REJECTED
    assert "1 invalid desired row(s)" in (result.message or "")
    assert [o["Email"] for o in objects(simulator, "users")] == ["user1@example.com"]


async def test_objects_matched_by_key_are_adopted_and_can_then_be_retired_in_mirror_mode(
    simulator: RunningSimulator, url: str
) -> None:
    """An object someone made by hand and desired state names becomes syncer's on the first apply
    (no request is needed for that); once desired state drops it, mirror mode deactivates it."""
    simulator.control.seed("entities", {"EntityNo": "C-0001", "Name": "Client 1"})
    simulator.control.seed("entities", {"EntityNo": "C-0900", "Name": "Not ours"})
    await fill(url, {"entities": [entity(1), entity(2)]})
    mirror = SyncSettings(modes={"entities": SyncMode.MIRROR})
    settings = settings_for(simulator, url, sync=mirror)
    first = await apply_firm(settings, ApplyOptions())
    assert first.exit_code == ExitCode.OK
    owned = await _owned(url, simulator.firm)
    assert owned[("entities", "C-0001")] is Origin.ADOPTED  # matched by key, nothing sent
    assert owned[("entities", "C-0002")] is Origin.CREATED
    assert ("entities", "C-0900") not in owned  # not desired: never adopted

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            table = desired_tables["entities"]
            await conn.execute(table.delete().where(table.c.entity_no == "C-0001"))
    finally:
        await engine.dispose()
    second = await apply_firm(settings, ApplyOptions())
    assert second.exit_code == ExitCode.OK
    types = {o["EntityNo"]: o["Type"] for o in objects(simulator, "entities")}
    assert types == {"C-0001": "I", "C-0002": "A", "C-0900": "A"}
