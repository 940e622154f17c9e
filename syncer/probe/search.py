"""``search.quote_escape``: how a quote inside a ``search=`` string must be written.

syncer finds an object by its natural key with ``search=`` after a create whose outcome is unknown,
so a name like ``O'Brien`` must be quoted the way the firm reads it. Only data can tell: the probe
looks for a value with a quote among the objects it already read and searches for it, first as
configured, then the other way; a firm without such a value answers ``unknown``.
"""

from __future__ import annotations

from typing import get_args

from syncer.assumptions import QuoteEscape
from syncer.cloud.shapes import field_of
from syncer.probe.context import ProbeContext, guids_of
from syncer.probe.report import Check, differs, differs_without_setting, holds, unknown

SEARCHED: dict[str, tuple[str, ...]] = {
    "entities": ("Name", "EntityNo"),
    "users": ("LastName", "Email"),
    "groups": ("Name",),
}
"""Documented fields, per kind, where a quote is likely (names) and that ``search=`` accepts."""


async def check_quote_escape(ctx: ProbeContext) -> Check:
    expected = ctx.api.search_quote_escape
    found = _value_with_quote(ctx)
    if found is None:
        return unknown("search.quote_escape", expected, "no value with a quote to search for")
    kind, field, value, guid = found
    escapes = sorted(get_args(QuoteEscape), key=lambda e: e != expected)
    for escape in escapes:
        literal = ctx.api.model_copy(update={"search_quote_escape": escape}).quote(value)
        answer = await ctx.page(kind, 0, ctx.page_size, search=f"{field}={literal}")
        if guid in (guids_of(answer) or []):
            observed = f"{escape}: {kind} {field}={literal} found it"
            if escape == expected:
                return holds("search.quote_escape", expected, observed)
            return differs(
                "search.quote_escape", expected, observed, api__search_quote_escape=escape
            )
    observed = f"neither escape found {kind} with {field} {value!r}"
    advice = "keys with a quote cannot be looked up: avoid quotes in natural keys"
    return differs_without_setting("search.quote_escape", expected, observed, advice)


def _value_with_quote(ctx: ProbeContext) -> tuple[str, str, str, str] | None:
    """``(kind, firm's field name, value, CWGuid)`` of the first read value holding a quote."""
    for kind, fields in SEARCHED.items():
        names = ctx.api.renames(kind)
        sample = ctx.samples.get(kind)
        for obj in sample.objects if sample else []:
            for documented in fields:
                name = names.outgoing(documented)
                value = field_of(obj, name)
                if isinstance(value, str) and "'" in value:
                    return kind, name, value, str(field_of(obj, "CWGuid"))
    return None
