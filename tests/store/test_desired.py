"""``read_desired_state``: tables or configured sources, validated, careful about completeness."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.errors import ConfigError
from syncer.settings import Settings
from syncer.state import DesiredLink, DesiredRow, InvalidRow
from syncer.store.desired import read_desired_state
from syncer.store.tables import desired_tables

pytestmark = pytest.mark.anyio


async def _fill(engine: AsyncEngine, kind: str, rows: list[dict[str, object]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(desired_tables[kind]), rows)


async def test_rows_are_read_validated_and_linked(engine: AsyncEngine) -> None:
    await _fill(engine, "groups", [{"name": "TAX", "description": " Tax team "}])
    await _fill(
        engine,
        "users",
        [
            {"email": "ann@x.com", "first_name": "Ann", "owner_type": "Staff", "admin": True},
            {"email": "bob@x.com", "first_name": None, "owner_type": "Robot", "admin": None},
        ],
    )
    await _fill(
        engine,
        "group_members",
        [
            {"group_name": "Tax", "user_email": "ANN@x.com"},
            {"group_name": "Tax", "user_email": "zed@x.com"},
            {"group_name": "Tax", "user_email": "BOB@x.com"},
        ],
    )

    state = await read_desired_state(engine, Settings())

    assert state.objects["groups"] == (DesiredRow("TAX", {"description": "Tax team"}, 1),)
    ann = state.objects["users"][0]
    assert (ann.key, ann.values["first_name"], ann.values["admin"], ann.values["sso"]) == (
        "ann@x.com",
        "Ann",
        True,
        None,
    )
    assert state.links["group_members"] == (DesiredLink("Tax", "ANN@x.com", 1),)
    assert state.invalid == (
        InvalidRow(
            "users", "bob@x.com", "owner_type: must be one of Staff, Contact, got 'Robot'", 2
        ),
        InvalidRow(
            "group_members",
            "Tax / BOB@x.com",
            "user_email: 'BOB@x.com' is an invalid row of desired users",
            2,
        ),
        InvalidRow(
            "group_members", "Tax / zed@x.com", "user_email: 'zed@x.com' is not in desired users", 3
        ),
    )
    # Entities and user roles are empty: never complete, so they can never cause retirements.
    assert state.complete == {"groups", "users", "group_members"}


async def test_a_select_source_replaces_the_table_and_duplicates_are_invalid(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE pm_staff (mail VARCHAR(100), given VARCHAR(30))"))
        await conn.execute(
            text("INSERT INTO pm_staff VALUES ('a@x.com', 'A'), ('A@X.COM', 'B'), ('c@x.com', 'C')")
        )
    sources = {"users": "SELECT mail AS email, given AS first_name FROM pm_staff ORDER BY given"}

    state = await read_desired_state(engine, Settings(sources=sources))

    assert [row.key for row in state.objects["users"]] == ["a@x.com", "c@x.com"]
    assert state.invalid == (InvalidRow("users", "A@X.COM", "duplicate key, first on row 1", 2),)
    assert "users" in state.complete


async def test_a_view_name_source_is_read(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE VIEW firm_clients AS SELECT 'C-1' AS entity_no, 'Acme' AS name")
        )

    state = await read_desired_state(engine, Settings(sources={"entities": "firm_clients"}))

    assert [(row.key, row.values["name"]) for row in state.objects["entities"]] == [("C-1", "Acme")]
    assert "entities" in state.complete


@pytest.mark.parametrize(
    "source",
    [
        "SELECT email FROM no_such_table",
        "missing_view",
        "SELECT 'x' AS not_the_key",
        "DROP TABLE desired_users",
    ],
)
async def test_an_unreadable_source_is_reported_and_never_complete(
    engine: AsyncEngine, source: str
) -> None:
    await _fill(engine, "groups", [{"name": "Tax"}])

    state = await read_desired_state(engine, Settings(sources={"users": source}))

    assert "users" not in state.complete
    assert "users" not in state.objects
    assert [(row.kind, row.key) for row in state.invalid] == [("users", "")]
    assert state.invalid[0].reason.startswith("source unreadable: ")
    assert "groups" in state.complete  # one broken source does not spoil the others


async def test_kinds_read_after_a_failed_source_are_still_read(engine: AsyncEngine) -> None:
    """Every kind is read on one connection; a source failing in the database (on PostgreSQL
    that ends the transaction) does not stop the kinds read after it."""
    await _fill(engine, "groups", [{"name": "Tax"}])
    await _fill(engine, "group_members", [{"group_name": "Tax", "user_email": "ann@x.com"}])

    sources = {"users": "SELECT email FROM no_such_table"}
    state = await read_desired_state(engine, Settings(sources=sources))

    assert [(row.kind, row.key) for row in state.invalid] == [("users", "")]
    assert state.links["group_members"] == (DesiredLink("Tax", "ann@x.com", 1),)
    assert "group_members" in state.complete


async def test_a_row_without_a_key_keeps_its_kind_incomplete(engine: AsyncEngine) -> None:
    sources = {"entities": "SELECT 'C-1' AS entity_no UNION ALL SELECT '  ' AS entity_no"}

    state = await read_desired_state(engine, Settings(sources=sources))

    assert [row.key for row in state.objects["entities"]] == ["C-1"]
    assert state.invalid == (InvalidRow("entities", "  ", "entity_no: required", 2),)
    assert "entities" not in state.complete


async def test_a_source_for_an_unknown_kind_is_a_configuration_error(engine: AsyncEngine) -> None:
    with pytest.raises(ConfigError, match=r"sources\.clients: unknown kind"):
        await read_desired_state(engine, Settings(sources={"clients": "SELECT 1"}))
