"""``load_csv``: good rows in, bad rows reported with line, column and reason, nothing half-done."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.model import ENTITIES, GROUP_MEMBERS, GROUPS, USERS
from syncer.store.loader import CsvFormatError, Rejection, load_csv
from syncer.store.tables import desired_tables
from syncer.store.validate import Kind

pytestmark = pytest.mark.anyio


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def _rows(engine: AsyncEngine, kind: Kind) -> list[tuple[object, ...]]:
    table = desired_tables[kind.name]
    async with engine.connect() as conn:
        result = await conn.execute(select(table).order_by(*table.primary_key.columns))
        return [tuple(row) for row in result]


USERS_CSV = (
    "email,first_name,owner_type,admin\n"
    "ann@example.com, Ann ,staff,yes\n"
    "not-an-email,Bob,Robot,maybe\n"
    '"cy@example.com","Cy\nwith a line break",Contact,0\n'
    "ANN@example.com,Again,Staff,no\n"
    "dee@example.com,Dee\n"
)


async def test_good_rows_load_and_bad_rows_are_reported(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    result = await load_csv(engine, USERS, _csv(tmp_path, "u.csv", USERS_CSV))

    assert result.loaded == 2
    assert result.rejected == [
        Rejection(3, "email", "not a valid e-mail address: 'not-an-email'"),
        Rejection(3, "owner_type", "must be one of Staff, Contact, got 'Robot'"),
        Rejection(3, "admin", "expected true/false (or yes/no, 1/0), got 'maybe'"),
        Rejection(6, None, "duplicate key, first on line 2"),
        Rejection(7, None, "expected 4 fields, got 2"),
    ]
    assert result.rejected_lines == 3
    rows = await _rows(engine, USERS)
    assert [(row[0], row[1], row[6], row[7]) for row in rows] == [
        ("ann@example.com", "Ann", "Staff", True),
        ("cy@example.com", "Cy\nwith a line break", "Contact", False),
    ]


async def test_loading_twice_is_harmless_and_a_later_file_updates(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    first = _csv(tmp_path, "e1.csv", "entity_no,name,active\nC-1,Acme,true\nC-2,Beta,true\n")
    await load_csv(engine, ENTITIES, first)
    await load_csv(engine, ENTITIES, first)
    assert len(await _rows(engine, ENTITIES)) == 2

    # Only the columns the file names change; country_code stays as it was (None).
    second = _csv(tmp_path, "e2.csv", "entity_no,active\nC-2,false\n")
    result = await load_csv(engine, ENTITIES, second)
    assert (result.loaded, result.deleted) == (1, 0)
    assert await _rows(engine, ENTITIES) == [
        ("C-1", "Acme", None, None, None, True),
        ("C-2", "Beta", None, None, None, False),
    ]


async def test_a_key_differing_only_in_case_updates_the_same_user(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_csv(engine, USERS, _csv(tmp_path, "a.csv", "email,first_name\nAnn@X.com,Ann\n"))
    await load_csv(engine, USERS, _csv(tmp_path, "b.csv", "email,first_name\nann@x.com,Anna\n"))
    rows = await _rows(engine, USERS)
    assert [(row[0], row[1]) for row in rows] == [("ann@x.com", "Anna")]


async def test_replace_makes_the_table_the_file_but_keeps_rows_rejected_for_typos(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_csv(
        engine, GROUPS, _csv(tmp_path, "g1.csv", "name,description\nTax,t\nAudit,a\nOld,o\n")
    )
    result = await load_csv(
        engine,
        GROUPS,
        _csv(tmp_path, "g2.csv", f"name,description\ntax,T\nAudit,{'x' * 501}\nNew,n\n"),
        replace=True,
    )
    assert (result.loaded, result.deleted, result.rejected_lines) == (2, 1, 1)
    assert await _rows(engine, GROUPS) == [("Audit", "a"), ("New", "n"), ("tax", "T")]


async def test_members_must_name_desired_groups_and_users(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_csv(engine, GROUPS, _csv(tmp_path, "g.csv", "name\nTax\n"))
    await load_csv(engine, USERS, _csv(tmp_path, "u.csv", "email\nann@x.com\n"))
    members = "group_name,user_email\ntax,ANN@x.com\nTax,bob@x.com\nNope,ann@x.com\n"
    result = await load_csv(engine, GROUP_MEMBERS, _csv(tmp_path, "m.csv", members))
    assert result.loaded == 1
    assert result.rejected == [
        Rejection(3, "user_email", "'bob@x.com' is not in desired users"),
        Rejection(4, "group_name", "'Nope' is not in desired groups"),
    ]


async def test_replacing_objects_counts_the_links_left_dangling(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_csv(engine, USERS, _csv(tmp_path, "u.csv", "email\nann@x.com\nbob@x.com\n"))
    await load_csv(engine, GROUPS, _csv(tmp_path, "g.csv", "name\nTax\n"))
    members = "group_name,user_email\nTax,ann@x.com\nTax,bob@x.com\n"
    await load_csv(engine, GROUP_MEMBERS, _csv(tmp_path, "m.csv", members))

    result = await load_csv(
        engine, USERS, _csv(tmp_path, "u2.csv", "email\nANN@x.com\n"), replace=True
    )

    assert (result.deleted, result.orphaned) == (1, {"desired_group_members": 1})


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("email,nickname\n", "unknown column(s) 'nickname'"),
        ("first_name\n", "lacks the key column(s): email"),
        ("email,email\n", "named twice"),
        ("", "is empty"),
    ],
)
async def test_a_header_that_does_not_fit_loads_nothing(
    engine: AsyncEngine, tmp_path: Path, header: str, message: str
) -> None:
    path = _csv(tmp_path, "u.csv", header + ("a@x.com\n" if header else ""))
    with pytest.raises(CsvFormatError, match=re.escape(message)):
        await load_csv(engine, USERS, path)


async def test_a_failure_midway_writes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    good = "".join(f"C-{n},Client {n}\n" for n in range(2500))
    path.write_bytes(b"entity_no,name\n" + good.encode() + b"C-x,\xff\xfe broken\n")
    with pytest.raises(CsvFormatError, match="cannot read"):
        await load_csv(engine, ENTITIES, path)
    assert await _rows(engine, ENTITIES) == []


async def test_thousands_of_rows_load_in_batches(engine: AsyncEngine, tmp_path: Path) -> None:
    body = "".join(f"u{n}@example.com,First{n},Staff,{n % 2}\n" for n in range(5000))
    path = _csv(tmp_path, "many.csv", "email,first_name,owner_type,active\n" + body)
    result = await load_csv(engine, USERS, path)
    assert (result.loaded, result.rejected) == (5000, [])
    assert len(await _rows(engine, USERS)) == 5000
