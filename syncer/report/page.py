"""HTML report: one self-contained page (jinja2 template ``templates/plan.html.j2``).

The page inlines its CSS and a few lines of JavaScript (the search box) and loads nothing, so it
can be mailed to a reviewer or attached to a change ticket. Autoescaping is on for everything.
The selectors a browser test relies on are documented in the template's header.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from functools import cache
from itertools import groupby

from jinja2 import Environment, PackageLoader, StrictUndefined

from syncer.plan import Plan
from syncer.report.rows import SUMMARY_COLUMNS, ReportRow, report_rows, show

TEMPLATE = "plan.html.j2"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("syncer.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals["show"] = show
    return env


def render_html(plan: Plan) -> str:
    rows = list(report_rows(plan))
    summary = [(kind, asdict(counts)) for kind, counts in plan.summary.items()]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            plan=plan,
            columns=SUMMARY_COLUMNS,
            summary=summary,
            totals=_totals(counts for _, counts in summary),
            changes=_by_kind(plan, _section(rows, "change")),
            blocked=_section(rows, "blocked"),
            skipped=_section(rows, "skipped"),
        )
    )


def _by_kind(plan: Plan, rows: list[ReportRow]) -> list[tuple[str, list[ReportRow]]]:
    """Change rows grouped per kind, kinds in the summary's (dependency) order, and plan order
    within a kind (the sort is stable)."""
    rank = {kind: i for i, kind in enumerate(plan.summary)}
    ordered = sorted(rows, key=lambda row: rank.get(row.kind, len(rank)))
    return [(kind, list(group)) for kind, group in groupby(ordered, key=lambda row: row.kind)]


def _section(rows: list[ReportRow], section: str) -> list[ReportRow]:
    return [row for row in rows if row.section == section]


def _totals(all_counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    totals = {attr: 0 for _, attr in SUMMARY_COLUMNS}
    for counts in all_counts:
        for attr in totals:
            totals[attr] += counts[attr]
    return totals
