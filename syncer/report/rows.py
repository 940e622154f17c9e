"""A Plan flattened into rows for tabular reports (CSV, HTML), and how values are shown.

Both tabular renderers read these rows, so a change, a blocked change and an invalid row look
the same in a spreadsheet and in the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from syncer.plan import Change, Held, KindSummary, Plan, key_text

SUMMARY_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("create", "create"),
    ("update", "update"),
    ("retire", "delete"),
    ("no change", "noop"),
    ("invalid", "invalid"),
    ("blocked", "blocked"),
    ("skipped", "skipped"),
)
"""(Label a reviewer reads, ``KindSummary`` attribute). "retire" counts deactivations, deletes
and removals of assignments; "skipped" counts changes the mode or protection held back."""

NONE_SHOWN: Final = "(none)"


def show(value: object) -> str:
    """A field value as text: ``None`` visibly, booleans as true/false, the rest as is."""
    if value is None:
        return NONE_SHOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value)


def count(summary: KindSummary, attribute: str) -> int:
    value = getattr(summary, attribute)
    assert isinstance(value, int)
    return value


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One line of a tabular report.

    ``section`` is ``change``, ``blocked``, ``skipped`` or ``invalid``. A change touching several
    fields gives one row per field; a change without fields (delete, add, remove) one row with an
    empty ``field``. ``before``/``after`` are the raw API values.
    """

    section: str
    kind: str
    action: str
    key: str
    remote_id: str | None = None
    field: str = ""
    before: object = None
    after: object = None
    row: int | None = None
    reason: str = ""


def report_rows(plan: Plan) -> Iterator[ReportRow]:
    """Changes in plan order, then blocked, skipped and invalid rows."""
    for change in plan.changes:
        yield from _change_rows("change", change, "")
    for section, held in (("blocked", plan.blocked), ("skipped", plan.skipped)):
        for item in held:
            yield from _held_rows(section, item)
    for bad in plan.invalid:
        yield ReportRow("invalid", bad.kind, "invalid", bad.key, row=bad.row, reason=bad.reason)


def _held_rows(section: str, held: Held) -> Iterator[ReportRow]:
    yield from _change_rows(section, held.change, held.reason)


def _change_rows(section: str, change: Change, reason: str) -> Iterator[ReportRow]:
    base = ReportRow(
        section,
        change.kind,
        change.action.value,
        key_text(change.key),
        change.remote_id,
        reason=reason,
    )
    if not change.fields:
        yield base
    for name, field in change.fields.items():
        yield replace(base, field=name, before=field.before, after=field.after)
