"""Text report: a rich summary table per kind, then every change with its fields before -> after.

``print_text`` writes to a rich Console (colour on a terminal); ``render_text`` returns the same
report as plain text for ``--out FILE``. Every value from desired state or Cloud goes through
``rich.text.Text``, never through markup, so a name like ``[bold]`` is printed as written, and
through ``printable``, so a name holding terminal escapes (``ESC[2J``, an OSC 8 link) is shown
escaped instead of acting on the reviewer's terminal.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from syncer.plan import Action, Change, Held, Plan, key_text
from syncer.report.rows import SUMMARY_COLUMNS, count, show

STYLES: dict[Action, tuple[str, str]] = {
    Action.CREATE: ("+", "green"),
    Action.ADD: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DEACTIVATE: ("-", "red"),
    Action.DELETE: ("-", "red"),
    Action.REMOVE: ("-", "red"),
}
"""Action -> (sign, colour) of its heading line."""

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC, CSI, OSC...) and the invisible direction marks."""


def printable(value: object) -> str:
    """``value`` shown (``rows.show``) with every control character written as its escape."""
    return _UNPRINTABLE.sub(
        lambda found: found.group().encode("unicode_escape").decode("ascii"), show(value)
    )


def summary_table(plan: Plan) -> Table:
    # A light box, and kind names never cut, keep the table readable in an 80-column log.
    table = Table(
        title=f"Plan for firm {printable(plan.firm)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("kind", no_wrap=True)
    for label, _ in SUMMARY_COLUMNS:
        table.add_column(label, justify="right")
    for kind, counts in plan.summary.items():
        table.add_row(kind, *(str(count(counts, attr)) for _, attr in SUMMARY_COLUMNS))
    return table


def change_lines(change: Change, reason: str = "") -> Iterable[Text]:
    sign, colour = STYLES[change.action]
    heading = Text.assemble(
        (f"{sign} {change.action.value} ", colour),
        (change.kind, "bold"),
        " ",
        printable(key_text(change.key)),
    )
    if reason:
        heading.append(f"  ({printable(reason)})", style="dim")
    yield heading
    for name, field in change.fields.items():
        yield Text.assemble(
            "    ",
            (printable(name), "cyan"),
            ": ",
            printable(field.before),
            (" -> ", "dim"),
            printable(field.after),
        )


def _held(title: str, items: Iterable[Held]) -> Iterable[Text]:
    listed = list(items)
    if listed:
        yield Text(f"\n{title} ({len(listed)})", style="bold")
        for item in listed:
            yield from change_lines(item.change, item.reason)


def print_text(plan: Plan, console: Console) -> None:
    console.print(summary_table(plan))
    console.print(Text(f"\nChanges ({len(plan.changes)})", style="bold"))
    if not plan.changes:
        console.print("  nothing to do")
    for change in plan.changes:
        for line in change_lines(change):
            console.print(line)
    for line in _held("Blocked by the safety threshold", plan.blocked):
        console.print(line)
    for line in _held("Skipped (mode or protected)", plan.skipped):
        console.print(line)
    if plan.invalid:
        console.print(Text(f"\nInvalid rows ({len(plan.invalid)})", style="bold"))
        for bad in plan.invalid:
            where = f" row {bad.row}" if bad.row is not None else ""
            console.print(
                Text.assemble(
                    "  ! ",
                    (bad.kind, "bold"),
                    f"{where} ",
                    printable(bad.key),
                    ": ",
                    printable(bad.reason),
                )
            )
    console.print(Text(f"\nCloud fingerprint {plan.fingerprint}", style="dim"))


def render_text(plan: Plan, width: int = 120) -> str:
    buffer = io.StringIO()
    print_text(plan, Console(file=buffer, width=width, color_system=None, highlight=False))
    return buffer.getvalue()
