"""``fields.<kind>``: the fields syncer reads and writes, against the objects the firm serves.

Expected fields come from ``syncer.model`` (what the planner compares and the apply engine sends),
under the names ``[cloud.api] field_names`` gives them. A documented field the firm lacks, next to
an unknown field of a similar name, is advised as a rename: that is how a firm calling a group's
description ``Description`` rather than ``BriefDescription`` gets a working configuration.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from syncer.assumptions import documented_fields
from syncer.model import RELATION_KINDS
from syncer.probe.context import ProbeContext
from syncer.probe.report import Check, differs, holds, unknown


def check_fields(ctx: ProbeContext, kind: str) -> Check:
    check_id = f"fields.{kind}"
    names = ctx.api.renames(kind)
    wanted = {
        names.outgoing(doc): (doc, kind_of) for doc, kind_of in documented_fields(kind).items()
    }
    expected = ", ".join(wanted)
    objects = ctx.samples[kind].objects if kind in ctx.samples else []
    if not objects:
        return unknown(check_id, expected, f"the firm has no {kind} to compare")
    served = {name.casefold(): name for obj in objects for name in obj}
    missing = [name for name in wanted if name.casefold() not in served]
    extra = sorted(v for k, v in served.items() if k not in {w.casefold() for w in wanted})
    wrong = [
        f"{name} is {type(value).__name__}, expected {wanted[name][1].__name__}"
        for name, value in _values(objects, wanted)
        if not _is_a(value, wanted[name][1])
    ]
    settings = _advice(ctx, kind, missing, extra, wanted)
    observed = _describe(len(objects), missing, extra, wrong)
    reference = _role_reference(ctx, kind, objects)
    if reference is not None:
        observed += f"; roles listed by {reference}"
        if reference != ctx.api.user_roles_reference:
            settings["api__user_roles_reference"] = reference
    if missing or wrong or settings:
        return differs(check_id, expected, observed, **settings)
    return holds(check_id, expected, observed)


def _values(
    objects: Iterable[Mapping[str, Any]], wanted: Mapping[str, Any]
) -> Iterable[tuple[str, Any]]:
    """The first non-null value of every wanted field, under its expected spelling."""
    by_fold = {name.casefold(): name for name in wanted}
    seen: dict[str, Any] = {}
    for obj in objects:
        for name, value in obj.items():
            wanted_name = by_fold.get(name.casefold())
            if wanted_name is not None and value is not None and wanted_name not in seen:
                seen[wanted_name] = value
    return seen.items()


def _is_a(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _advice(
    ctx: ProbeContext,
    kind: str,
    missing: list[str],
    extra: list[str],
    wanted: Mapping[str, tuple[str, type]],
) -> dict[str, Any]:
    """A rename for each missing field that has a look-alike among the unknown ones."""
    renames = dict(ctx.api.field_names.get(kind, {}))
    for name in missing:
        alike = [
            e for e in extra if name.casefold() in e.casefold() or e.casefold() in name.casefold()
        ]
        alike = alike or difflib.get_close_matches(name, extra, n=1, cutoff=0.6)
        if alike:
            renames[wanted[name][0]] = alike[0]
    if renames == ctx.api.field_names.get(kind, {}):
        return {}
    return {f"api__field_names__{kind}": renames}


def _role_reference(
    ctx: ProbeContext, kind: str, objects: Iterable[Mapping[str, Any]]
) -> str | None:
    """How ``kind`` lists its roles (``Id`` or ``CWGuid``); ``None`` when it lists none."""
    relation = next((r for r in RELATION_KINDS.values() if r.parent_kind == kind), None)
    if relation is None or relation.read_field is None:
        return None
    field = ctx.api.renames(kind).outgoing(relation.read_field).casefold()
    listed = [
        item
        for obj in objects
        for name, value in obj.items()
        if name.casefold() == field and isinstance(value, list)
        for item in value
    ]
    if not listed:
        return None
    return "CWGuid" if all(isinstance(item, str) for item in listed) else "Id"


def _describe(count: int, missing: list[str], extra: list[str], wrong: list[str]) -> str:
    parts = [f"{count} read"]
    parts.append("missing: " + ", ".join(missing) if missing else "none missing")
    if wrong:
        parts.append("wrong type: " + "; ".join(wrong))
    if extra:
        parts.append("not used by syncer: " + ", ".join(extra))
    return "; ".join(parts)
