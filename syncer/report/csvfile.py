"""CSV report: one row per field change, plus one per blocked, skipped and invalid row.

Columns (in this order): ``section`` (change, blocked, skipped, invalid), ``kind``, ``action``
(create, update, delete, deactivate, add, remove, or ``invalid``), ``key``, ``remote_id``,
``field`` (API field name; empty for changes without fields), ``before``, ``after`` (empty for
none; true/false for booleans), ``row`` (the desired-state row, for invalid rows) and ``reason``
(why a change is blocked or skipped, or a row invalid).

A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return) is prefixed with a single quote: the report is read by people in Excel, and
desired-state values come from outside.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from syncer.plan import Plan
from syncer.report.rows import report_rows

COLUMNS: Final = (
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
)
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def render_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report_rows(plan):
        writer.writerow(cell(getattr(row, column)) for column in COLUMNS)
    return out.getvalue()
