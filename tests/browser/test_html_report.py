"""The HTML plan report, opened in a real headless chromium: what a reviewer sees and does.

Selectors are the ones the template documents as stable (syncer/report/templates/plan.html.j2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.plan.changes import Action, Change, FieldChange, KindSummary, Plan
from syncer.report import render_html
from syncer.state import InvalidRow
from tests.browser.chromium import Page, chromium_or_skip, headless_page

OLD_NAME = "Copperleaf Property Management Holdings Ltd"
NEW_NAME = "Copperleaf Property Management Holdings Ltd (amalgamated)"
LEAVER = "lucas.okafor@brightwater-cpa.example"
HIRE = "new.hire@brightwater-cpa.example"
JOINER = "jacob.fernandes@brightwater-cpa.example"

PLAN = Plan(
    firm="brightwater",
    created_at=datetime(2026, 11, 27, 21, 0, tzinfo=UTC),
    fingerprint="5f1c0ffee",
    changes=(
        Change(
            "entities",
            Action.UPDATE,
            "C-00005",
            "guid-5",
            {"Name": FieldChange(OLD_NAME, NEW_NAME)},
        ),
        Change(
            "entities",
            Action.CREATE,
            "C-00301",
            None,
            {
                "Name": FieldChange(None, "Northgate Orchards Ltd"),
                "CountryCode": FieldChange(None, "CA"),
            },
        ),
        Change("users", Action.DEACTIVATE, LEAVER, "guid-u", {"Type": FieldChange("A", "I")}),
        Change("group_members", Action.ADD, f"Audit|{JOINER}"),
    ),
    invalid=(
        InvalidRow("users", HIRE, "owner_type: must be one of Staff, Contact, got 'Employee'", 31),
    ),
    summary={
        "entities": KindSummary(create=1, update=1, noop=298),
        "users": KindSummary(delete=1, deactivate=1, noop=28, invalid=1),
        "group_members": KindSummary(create=1, add=1, noop=50),
    },
)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "plan.html"
    path.write_text(render_html(PLAN), encoding="utf-8")
    return path


async def count(page: Page, kind: str, name: str) -> str:
    selector = f'#summary tr.summary-row[data-kind="{kind}"] td[data-count="{name}"]'
    return await page.visible_text(selector)


@pytest.mark.anyio
async def test_a_reviewer_sees_the_plan_and_can_search_it(report: Path, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    async with headless_page(chromium, tmp_path / "profile") as page:
        await page.open(report.as_uri())
        assert "brightwater" in await page.evaluate("document.title")

        # The summary counts.
        assert await count(page, "entities", "create") == "1"
        assert await count(page, "entities", "update") == "1"
        assert await count(page, "entities", "noop") == "298"
        assert await count(page, "users", "invalid") == "1"
        assert await count(page, "total", "noop") == "376"
        assert "no change" in await page.visible_text("#summary")

        # A changed field, before and after.
        renamed = 'tr.change-row[data-key="C-00005"][data-field="Name"]'
        assert await page.visible_text(f"{renamed} td.before") == OLD_NAME
        assert await page.visible_text(f"{renamed} td.after") == NEW_NAME
        deactivated = f'tr.change-row[data-key="{LEAVER}"][data-field="Type"]'
        assert await page.visible_text(f"{deactivated} td.after") == "I"

        # The invalid row, with the reason a person can act on.
        invalid = f'#invalid tr.invalid-row[data-key="{HIRE}"]'
        assert "Employee" in await page.visible_text(f"{invalid} td.reason")
        assert "31" in await page.visible_text(invalid)

        # Typing in the search box leaves only the rows that match.
        total = await page.visible_count("tr.filterable")
        assert total == 6  # 5 field rows of 4 changes, and 1 invalid row
        await page.type_into("#search", "amalgamated")
        assert await page.visible_count("tr.filterable") == 1
        assert await page.visible_count(renamed) == 1
        assert f"1 of {total} rows shown" in await page.visible_text("#search-count")
        assert "Northgate Orchards" not in await page.visible_text("#changes")

        await page.type_into("#search", "EMPLOYEE")  # case-insensitive, replaces the query
        assert await page.visible_count("tr.filterable") == 1
        assert await page.visible_count(invalid) == 1

        await page.type_into("#search", "no such client")
        assert await page.visible_count("tr.filterable") == 0
        assert f"0 of {total} rows shown" in await page.visible_text("#search-count")
