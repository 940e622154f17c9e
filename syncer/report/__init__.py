"""Renderers of a Plan: text (rich), json (docs/architecture.md §8), csv and html.

``render(plan, fmt)`` dispatches through ``RENDERERS``, a table of format name -> renderer, so a
new format is one entry. Text, CSV and HTML come back as ``str``, JSON as ``bytes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from syncer.errors import UsageError
from syncer.plan import Plan, plan_to_json
from syncer.report.csvfile import render_csv
from syncer.report.page import render_html
from syncer.report.text import change_lines, print_text, render_text, summary_table

RENDERERS: Final[Mapping[str, Callable[[Plan], str | bytes]]] = {
    "text": render_text,
    "json": plan_to_json,
    "csv": render_csv,
    "html": render_html,
}
FORMATS: Final = tuple(RENDERERS)


def render(plan: Plan, fmt: str) -> str | bytes:
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise UsageError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderer(plan)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "change_lines",
    "print_text",
    "render",
    "render_csv",
    "render_html",
    "render_text",
    "summary_table",
]
