"""``syncer queue`` and ``syncer worker`` in-process: PostgreSQL required, jobs deferred with
the firm's locks, ``--at``, status lines, and the queue's schema installed and removed."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from syncer.cli.main import cli
from syncer.store.db import create_engine
from syncer.store.schema import downgrade, upgrade


def _syncer(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), *args], env={"ACME_SECRET": "s", "BETA_SECRET": "s"}
    )


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "firms.toml"
    firms = "\n".join(
        f'[[firms]]\nname = "{name}"\n[firms.cloud]\nbase_url = "http://127.0.0.1:9"\n'
        f'client_id = "id"\nclient_secret_env = "{name.upper()}_SECRET"\n'
        for name in ("acme", "beta")
    )
    path.write_text(f'[database]\nurl = "{url}"\n\n{firms}', encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [("worker",), ("queue", "apply"), ("queue", "status")])
def test_on_sqlite_the_queue_commands_exit_78_saying_they_need_postgresql(
    sqlite_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _syncer(_config(tmp_path, sqlite_url), *args)
    assert result.exit_code == 78
    assert "needs PostgreSQL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.postgres
def test_a_bad_schedule_is_a_configuration_error(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, migrated_postgres_url)
    text = config.read_text().replace('name = "acme"\n', 'name = "acme"\nschedule = "at two"\n')
    config.write_text(text)
    result = _syncer(config, "worker")
    assert result.exit_code == 78
    assert "schedule 'at two' is not a valid cron line" in result.output


@pytest.mark.postgres
def test_queue_defers_once_per_firm_and_action_and_status_lists_the_jobs(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, migrated_postgres_url)

    first = _syncer(config, "queue", "apply")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == ["acme\tapply\tjob 1", "beta\tapply\tjob 2"]
    again = _syncer(config, "queue", "apply", "--firm", "acme")
    assert again.output.splitlines() == ["acme\tapply\talready queued"]
    later = _syncer(config, "queue", "plan", "--firm", "beta", "--at", "2030-01-02T03:04")
    assert later.output.startswith("beta\tplan\tjob ")
    plan_job = later.output.split()[-1]
    assert _syncer(config, "queue", "apply", "--firm", "nobody").exit_code == 64

    status = _syncer(config, "queue", "status")
    assert status.exit_code == 0, status.output
    assert status.output.splitlines()[1:] == [
        f"{plan_job}\tbeta\tplan\tqueued\t-\t-\t-\t",
        "2\tbeta\tapply\tqueued\t-\t-\t-\t",
        "1\tacme\tapply\tqueued\t-\t-\t-\t",
    ]

    async def job_options() -> list[sa.Row[object]]:
        engine = create_engine(migrated_postgres_url)
        try:
            async with engine.connect() as conn:
                query = "SELECT lock, queueing_lock, queue_name, scheduled_at FROM "
                query += "syncer_queue.procrastinate_jobs ORDER BY id"
                return list((await conn.execute(sa.text(query))).all())
        finally:
            await engine.dispose()

    rows = anyio.run(job_options)
    assert [(r.lock, r.queueing_lock, r.queue_name) for r in rows] == [
        ("firm:acme", "apply:acme", "firm.acme"),
        ("firm:beta", "apply:beta", "firm.beta"),
        ("firm:beta", "plan:beta", "firm.beta"),
    ]
    assert rows[2].scheduled_at.isoformat() == "2030-01-02T03:04:00+00:00"


@pytest.mark.postgres
def test_a_firm_already_queued_leaves_the_others_of_its_batch_queued(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    """All firms go in one statement, which one waiting job refuses whole: the others are
    queued all the same, one at a time."""
    config = _config(tmp_path, migrated_postgres_url)
    assert _syncer(config, "queue", "plan", "--firm", "beta").exit_code == 0
    both = _syncer(config, "queue", "plan")
    assert both.exit_code == 0, both.output
    acme, beta = both.output.splitlines()
    assert acme.startswith("acme\tplan\tjob ")
    assert beta == "beta\tplan\talready queued"
    status = _syncer(config, "queue", "status").output.splitlines()[1:]
    assert [line.split("\t")[1:4] for line in status] == [
        ["acme", "plan", "queued"],
        ["beta", "plan", "queued"],
    ]


@pytest.mark.postgres
def test_the_queue_schema_is_installed_by_upgrade_and_removed_by_downgrade(
    postgres_url: str,
) -> None:
    async def queue_tables() -> set[str]:
        engine = create_engine(postgres_url)
        try:
            async with engine.connect() as conn:
                names = await conn.run_sync(
                    lambda sync: sa.inspect(sync).get_table_names(schema="syncer_queue")
                )
                return set(names)
        finally:
            await engine.dispose()

    anyio.run(upgrade, postgres_url)
    assert {"procrastinate_jobs", "procrastinate_workers", "queue_outcomes"} <= anyio.run(
        queue_tables
    )
    anyio.run(downgrade, postgres_url, "0001")
    assert anyio.run(queue_tables) == set()
    anyio.run(upgrade, postgres_url)
    assert "procrastinate_jobs" in anyio.run(queue_tables)


@pytest.mark.postgres
@pytest.mark.parametrize("args", [("worker",), ("queue", "status")])
def test_a_queue_database_that_is_not_there_is_one_line_and_exit_1(
    postgres_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/syncer_no_such_database"
    result = _syncer(_config(tmp_path, missing), *args)
    assert result.exit_code == 1
    assert "database error" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
