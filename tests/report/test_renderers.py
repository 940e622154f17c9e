"""Each renderer of a Plan: the right counts, before -> after per field, invalid and blocked rows,
and nothing from desired state or Cloud interpreted as markup, formula or HTML."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

import orjson
import pytest

from syncer.errors import UsageError
from syncer.plan import Plan, PlanPolicy, plan_from_json
from syncer.report import FORMATS, render
from syncer.settings import SyncMode
from tests.plan.factories import cloud, desired, entity, owns, plan, row, user

HOSTILE = '<script>alert("x")</script>'


def sample() -> Plan:
    users = [user(f"u{i:02}@x.com") for i in range(30)]
    want = desired(
        users=[row(f"u{i:02}@x.com") for i in range(5)],
        entities=[
            row("C-1", name="New name"),
            row("C-2", name=HOSTILE),
            row("C-3", name="=HYPERLINK(1)"),
            row("C-4", name="[bold]rich[/bold]"),
            row('C-"5"', 12, name="x" * 201),
        ],
    )
    have = cloud(users=users, entities=[entity("C-1", name="Old name"), entity("C-2")])
    policy = PlanPolicy(modes={"users": SyncMode.MIRROR})
    return plan(want, have, owns(*(("users", u) for u in users)), policy)


def test_every_format_renders_and_unknown_formats_are_usage_errors() -> None:
    result = sample()
    for fmt in FORMATS:
        assert render(result, fmt)
    data = render(result, "json")
    assert isinstance(data, bytes)
    assert plan_from_json(data) == result
    with pytest.raises(UsageError, match="expected one of text, json, csv, html"):
        render(result, "pdf")


def test_json_is_the_contract_document() -> None:
    doc = orjson.loads(render(sample(), "json"))
    assert doc["format_version"] == 1
    assert doc["summary"]["users"]["blocked"] == 25


class TestText:
    def test_summary_and_field_changes(self) -> None:
        text = render(sample(), "text")
        assert isinstance(text, str)
        lines = text.splitlines()
        entities = next(line for line in lines if line.startswith("entities "))
        assert entities.split()[1:] == [
            "2",
            "2",
            "0",
            "0",
            "1",
            "0",
            "0",
        ]
        assert "Name: Old name -> New name" in text
        assert "Blocked by the safety threshold (25)" in text
        assert "would deactivate 25 of 30 users syncer owns (83 %)" in text
        assert 'entities row 12 C-"5": name is 201 characters long' in text

    def test_values_are_not_markup(self) -> None:
        assert "Name: (none) -> [bold]rich[/bold]" in str(render(sample(), "text"))


class TestCsv:
    def rows(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(str(render(sample(), "csv")))))

    def test_one_row_per_field_change_then_blocked_and_invalid(self) -> None:
        rows = self.rows()
        assert list(rows[0]) == [
            "section",
            "kind",
            "action",
            "key",
            "remote_id",
            "field",
            "before",
            "after",
            "row",
            "reason",
        ]
        update = next(r for r in rows if r["key"] == "C-1")
        assert (update["section"], update["action"], update["field"]) == (
            "change",
            "update",
            "Name",
        )
        assert (update["before"], update["after"]) == ("Old name", "New name")
        create = [r["field"] for r in rows if r["key"] == "C-3"]
        assert create == ["EntityNo", "OwnerType", "Name"]
        blocked = [r for r in rows if r["section"] == "blocked"]
        assert len(blocked) == 25 * 2  # Type and InActiveDate of each deactivation
        assert blocked[0]["reason"].startswith("would deactivate 25 of 30 users")
        (invalid,) = [r for r in rows if r["section"] == "invalid"]
        assert (invalid["key"], invalid["row"]) == ('C-"5"', "12")

    def test_formulas_are_defused(self) -> None:
        name = next(r for r in self.rows() if r["key"] == "C-3" and r["field"] == "Name")
        assert name["after"] == "'=HYPERLINK(1)"


@dataclass
class Page(HTMLParser):
    """Table rows of the page as (tr attributes, [(td attributes, text)]), plus every tag."""

    rows: list[tuple[dict[str, str], list[tuple[dict[str, str], str]]]] = field(
        default_factory=list
    )
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _cell: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr":
            self.rows.append((attributes, []))
        elif tag in {"td", "th"} and self.rows:
            self.rows[-1][1].append((attributes, ""))
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None:
            attrs, _ = self.rows[-1][1][-1]
            self.rows[-1][1][-1] = (attrs, "".join(self._cell).strip())
            self._cell = None

    def row(self, **wanted: str) -> dict[str, str]:
        """Cells by class or data-count of the one row whose attributes include ``wanted``."""
        (found,) = [cells for attrs, cells in self.rows if wanted.items() <= attrs.items()]
        return {
            a.get("class", "").split(" ")[0] or a.get("data-count", ""): text for a, text in found
        }


class TestHtml:
    @pytest.fixture
    def html(self) -> str:
        out = render(sample(), "html")
        assert isinstance(out, str)
        return out

    @pytest.fixture
    def page(self, html: str) -> Page:
        parsed = Page()
        parsed.feed(html)
        return parsed

    def test_summary_counts(self, page: Page) -> None:
        entities = page.row(**{"class": "summary-row", "data-kind": "entities"})
        assert (entities["create"], entities["update"], entities["invalid"]) == ("2", "2", "1")
        users = page.row(**{"class": "summary-row", "data-kind": "users"})
        assert (users["blocked"], users["noop"]) == ("25", "5")
        total = page.row(**{"class": "summary-row", "data-kind": "total"})
        assert total["blocked"] == "25"

    def test_field_before_and_after(self, page: Page) -> None:
        cells = page.row(
            **{"class": "change-row filterable", "data-key": "C-1", "data-field": "Name"}
        )
        assert (cells["before"], cells["after"]) == ("Old name", "New name")

    def test_invalid_and_blocked_rows(self, page: Page) -> None:
        invalid = page.row(**{"class": "invalid-row filterable", "data-row": "12"})
        assert invalid["reason"] == "name is 201 characters long; at most 200 allowed"
        blocked = [
            attrs for attrs, _ in page.rows if attrs.get("class", "").startswith("blocked-row")
        ]
        assert len(blocked) == 50

    def test_everything_is_escaped_and_nothing_is_loaded(self, html: str, page: Page) -> None:
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        cells = page.row(
            **{"class": "change-row filterable", "data-key": "C-2", "data-field": "Name"}
        )
        assert cells["after"] == HOSTILE
        assert [t for t, _ in page.tags].count("script") == 1
        assert not [a for _, attrs in page.tags for a in ("src", "href") if a in attrs]
        assert "default-src 'none'" in html

    def test_search_box_and_filter_script(self, html: str, page: Page) -> None:
        assert (
            "input",
            {
                "id": "search",
                "type": "search",
                "placeholder": "key, field, value, reason…",
                "autocomplete": "off",
            },
        ) in page.tags
        assert 'querySelectorAll("tr.filterable")' in html
