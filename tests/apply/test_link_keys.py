"""An assignment's ends are a ``LinkKey``, not a string cut at a ``|``: a group named ``R|D``
goes through plan -> JSON -> read back -> apply against the simulator with the right members."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ExitCode
from syncer.model import LinkKey
from syncer.plan import plan_from_json, plan_to_json
from syncer.simulator import RunningSimulator
from syncer.store.db import upgrade
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
    simulator: RunningSimulator, database_url: str, tmp_path: Path
) -> None:
    await upgrade(database_url)
    await fill(database_url, ROWS)
    settings = settings_for(simulator, database_url)
    plan = (await plan_firm(settings)).plan
    saved = tmp_path / "plan.json"
    saved.write_bytes(plan_to_json(plan))

    links = {c.link for c in plan_from_json(saved.read_bytes()).changes if c.link}
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
