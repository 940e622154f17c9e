"""``syncer export`` round trip: a seeded firm exported, loaded into an empty database, planned.

A firm that starts from its own Cloud state must see an empty first plan; whatever ``load``
could not take back (a Plugin user) is left out rather than written as a row ``load`` refuses.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from syncer.errors import ExitCode
from syncer.model import ALL_KINDS, kind_named
from syncer.simulator import RunningSimulator
from syncer.store.db import create_engine
from syncer.store.loader import load_csv
from syncer.store.schema import upgrade
from syncer.usecases import plan_firm
from tests.apply.support import env_for, settings_for

pytestmark = pytest.mark.anyio

LOAD_ORDER = ("groups", "entities", "users", "group_members", "user_roles", "entity_addresses")


def seed_firm(sim: RunningSimulator) -> None:
    """A firm someone filled by hand: clients, staff, a contact, a plugin, groups, roles."""
    control = sim.control
    acme: Any = control.seed("entities", {"EntityNo": "C-1", "Name": "Acme", "CountryCode": "CA"})
    for category, city in (("Business", "Toronto"), ("Mailing", "Ottawa"), ("Mailing", "Later")):
        control.seed(
            "addresses", {"OwnerCWGuid": acme["CWGuid"], "AddressCategory": category, "City": city}
        )
    control.seed("entities", {"EntityNo": "C-2", "Name": "Beta", "Type": "I"})
    roles = {r["Name"]: r["CWGuid"] for r in control.dump()["objects"]["roles"]}
    staff: Any = control.seed(
        "users",
        {"Email": "Ann@firm.test", "FirstName": "Ann", "OwnerType": "Staff", "Admin": True},
    )
    contact: Any = control.seed(
        "users", {"Email": "bob@client.test", "LastName": "Bob", "OwnerType": "Contact"}
    )
    plugin: Any = control.seed("users", {"Email": "bot@firm.test", "OwnerType": "Plugin"})
    group: Any = control.seed("groups", {"Name": "Audit", "BriefDescription": "Audit team"})
    control.seed("groups", {"Name": "Tax"})
    members = [staff["CWGuid"], contact["CWGuid"], plugin["CWGuid"]]
    control.seed("group_members", {"parent": group["CWGuid"], "members": members})
    control.seed("user_roles", {"parent": staff["CWGuid"], "members": [roles["Viewer"]]})


async def test_export_then_load_gives_an_empty_plan(
    simulator: RunningSimulator, database_url: str, tmp_path: Path
) -> None:
    seed_firm(simulator)
    out = tmp_path / "cloud"
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", "export", "--out", str(out)],
        env=env_for(simulator, database_url),
        check=False,
    )
    assert result.returncode == ExitCode.OK, result.stderr.decode()
    assert "users.csv: 2 rows (1 left out" in result.stdout.decode()
    assert sorted(os.listdir(out)) == sorted(f"{k}.csv" for k in ALL_KINDS)
    with (out / "users.csv").open(newline="") as handle:
        users = {row["email"]: row for row in csv.DictReader(handle)}
    assert set(users) == {"Ann@firm.test", "bob@client.test"}
    assert users["Ann@firm.test"]["admin"] == "true"
    assert users["Ann@firm.test"]["middle_name"] == ""
    assert "entity_addresses.csv: 2 rows (1 left out" in result.stdout.decode()

    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        for kind in (*LOAD_ORDER, *(k for k in ALL_KINDS if k not in LOAD_ORDER)):
            loaded = await load_csv(engine, kind_named(kind), out / f"{kind}.csv")
            assert loaded.rejected == [], (kind, loaded.rejected)
    finally:
        await engine.dispose()
    plan = (await plan_firm(settings_for(simulator, database_url))).plan
    assert not plan.has_changes, plan.changes
    assert plan.invalid == ()
    assert plan.summary["group_members"].noop == 2
    assert plan.summary["user_roles"].noop == 1
    assert plan.summary["entities"].noop == 2
    assert plan.summary["entity_addresses"].noop == 2


async def test_export_kinds_picks_files_and_refuses_unknown_kinds(
    simulator: RunningSimulator, sqlite_url: str, tmp_path: Path
) -> None:
    seed_firm(simulator)
    env = env_for(simulator, sqlite_url)
    base = [sys.executable, "-m", "syncer", "export", "--out", str(tmp_path)]
    result = await anyio.run_process([*base, "--kinds", "entities,groups"], env=env, check=False)
    assert result.returncode == ExitCode.OK, result.stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["entities.csv", "groups.csv"]
    result = await anyio.run_process([*base, "--kinds", "clients"], env=env, check=False)
    assert result.returncode == ExitCode.USAGE
    assert b"unknown kind 'clients'" in result.stderr
    assert b"Traceback" not in result.stderr


async def test_export_with_rejected_credentials_exits_77_in_one_line(
    simulator: RunningSimulator, sqlite_url: str, tmp_path: Path
) -> None:
    result = await anyio.run_process(
        [sys.executable, "-m", "syncer", "export", "--out", str(tmp_path / "out")],
        env=env_for(simulator, sqlite_url, secret="not-the-secret"),
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == ExitCode.CREDENTIALS_REJECTED
    assert "Traceback" not in stderr
    assert "not-the-secret" not in stderr
    assert not (tmp_path / "out").exists(), "nothing is written when Cloud cannot be read"
