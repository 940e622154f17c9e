"""The README's two guides, "Running from cron" and "Migrating from another system", followed
step by step with the real ``syncer`` command, their command lines taken from the README itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer.errors import ExitCode
from syncer.simulator import RunningSimulator
from tests.apply.support import entity, fill, objects
from tests.readme.command import SYNCER, Finished, Syncer, assert_clean, write_config

pytestmark = pytest.mark.anyio

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def readme_cron_command(paths: dict[str, str]) -> str:
    """The cron line's command (schedule fields dropped), each README path replaced by ours."""
    block = re.search(r"```cron\n(.*?)```", README, re.DOTALL)
    assert block, "the README has no cron example"
    line = next(ln for ln in block.group(1).splitlines() if ln and not ln.startswith("#"))
    command = line.split(maxsplit=5)[5]
    for theirs, ours in paths.items():
        assert theirs in command, f"the cron line no longer uses {theirs}"
        command = command.replace(theirs, ours)
    return command


def readme_metrics() -> dict[str, set[str]]:
    """Metric name -> its labels beyond ``firm`` and ``command``, from the README's table."""
    rows = re.findall(r"^\| `(syncer_last_run_\w+)(?:\{(\w+(?:,\w+)*)\})?` \|", README, re.M)
    assert len(rows) > 5, "the README's metrics table moved"
    return {name: set(labels.split(",")) if labels else set() for name, labels in rows}


async def test_the_cron_line_writes_json_logs_and_every_metric_of_the_table(
    simulator: RunningSimulator, migrated_database_url: str, tmp_path: Path
) -> None:
    await fill(migrated_database_url, {"entities": [entity(1), entity(2)]})
    config = write_config(tmp_path, simulator, migrated_database_url)
    (tmp_path / "log").mkdir()
    textfile, log = tmp_path / "textfile" / "syncer.prom", tmp_path / "log" / "apply.log"
    command = readme_cron_command(
        {
            "/opt/syncer/.venv/bin/syncer": str(SYNCER),
            "/etc/syncer/syncer.toml": str(config),
            "/var/lib/node_exporter/textfile/syncer.prom": str(textfile),
            "/var/log/syncer/apply.log": str(log),
        }
    )
    ran = await Syncer(config, [simulator.client_secret]).shell(command)
    assert (ran.code, ran.stdout, ran.stderr) == (ExitCode.OK, "", "")
    logged = Finished(ran.code, "", log.read_text(encoding="utf-8"))
    assert_clean(logged.stderr, [simulator.client_secret])
    assert logged.event("apply finished")["exit_code"] == ExitCode.OK

    samples = [
        sample
        for family in text_string_to_metric_families(textfile.read_text(encoding="utf-8"))
        for sample in family.samples
    ]
    for name, labels in readme_metrics().items():
        found = [s for s in samples if s.name == name]
        assert found, f"{name} is missing"
        assert all(s.labels.keys() == {"firm", "command", *labels} for s in found), found
        assert {(s.labels["firm"], s.labels["command"]) for s in found} == {("demo", "apply")}
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in samples}
    base = (("command", "apply"), ("firm", "demo"))
    assert values[("syncer_last_run_exit_code", base)] == 0
    done = (("action", "create"), *base, ("kind", "entities"), ("result", "done"))
    assert values[("syncer_last_run_changes", done)] == 2


def write_csvs(folder: Path) -> None:
    """The five exports of the guide; the third client has an invalid ``active`` value."""
    files = {
        "groups.csv": "name,description\nTax,Tax team\n",
        "clients.csv": "entity_no,name,operating_name,organization_type,country_code,active\n"
        "C-1,Harbourview Dental Ltd,,Corporation,CA,true\n"
        "C-2,Birch & Sons,,Partnership,CA,true\n"
        "C-3,Broken Row Inc,,Corporation,CA,maybe\n",
        "staff.csv": "email,first_name,last_name,owner_type\nann@firm.test,Ann,Lee,Staff\n",
        "members.csv": "group_name,user_email\nTax,ann@firm.test\n",
        "roles.csv": "user_email,role_name\nann@firm.test,Editor\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.slow
async def test_the_migration_guide_step_by_step(
    simulator: RunningSimulator, sqlite_url: str, tmp_path: Path
) -> None:
    write_csvs(tmp_path)
    syncer = Syncer(write_config(tmp_path, simulator, sqlite_url), [simulator.client_secret])

    assert (await syncer("db", "upgrade")).code == ExitCode.OK
    for kind, csv in [("groups", "groups"), ("users", "staff"), ("group_members", "members")]:
        loaded = await syncer("load", kind, f"{csv}.csv")
        assert loaded.code == ExitCode.OK, loaded.stdout
    for _ in range(2):  # loading again is harmless
        clients = await syncer("load", "entities", "clients.csv")
        assert clients.code == ExitCode.ROWS_REJECTED
        assert "clients.csv:4: active: " in clients.stdout
        assert "desired_entities: 2 rows loaded, 1 rejected" in clients.stdout
    assert (await syncer("load", "user_roles", "roles.csv")).code == ExitCode.OK

    review = await syncer("plan", "--format", "html", "--out", "review.html")
    assert review.code == ExitCode.OK, review.stderr
    html = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert "Harbourview Dental Ltd" in html
    assert (await syncer("plan", "--format", "json", "--out", "plan.json")).code == ExitCode.OK

    # Cloud changes after the review: the plan is refused, nothing is sent; plan again.
    simulator.control.seed("entities", {"EntityNo": "X-9", "Name": "Made by hand"})
    stale = await syncer("apply", "--plan", "plan.json")
    assert stale.code == ExitCode.ERROR
    assert "stale" in stale.stderr
    assert [o["EntityNo"] for o in objects(simulator, "entities")] == ["X-9"]
    assert (await syncer("plan", "--format", "json", "--out", "plan.json")).code == ExitCode.OK
    # A desired row added after the review is not part of what was approved.
    await fill(sqlite_url, {"entities": [entity(4, entity_no="C-4")]})

    applied = await syncer("apply", "--plan", "plan.json")
    assert applied.code == ExitCode.OK, applied.stderr
    assert sorted(o["EntityNo"] for o in objects(simulator, "entities")) == ["C-1", "C-2", "X-9"]
    assert [u["Email"] for u in objects(simulator, "users")] == ["ann@firm.test"]
    assert [g["Name"] for g in objects(simulator, "groups")] == ["Tax"]

    history = await syncer("runs", "--last", "1")
    assert history.code == ExitCode.OK
    # One run: status, exit code, and the six changes (2 clients, a user, a group and two links).
    assert re.search(r"│ apply +│ [^│]+│ [^│]+│ succeeded +│ 0 +│ 6 done +│", history.stdout)
