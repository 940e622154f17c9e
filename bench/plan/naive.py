"""The baseline: match each desired row by scanning the Cloud list (what a first version of a
sync script does), then compare fields with the planner's own rules. Quadratic, so it is timed
on a sample of rows and extrapolated."""

from __future__ import annotations

import time

from syncer.model import OBJECT_KINDS
from syncer.plan.values import compile_changes
from syncer.state import DesiredRow, RemoteObject


def seconds_per_row(
    rows: tuple[DesiredRow, ...], cloud: tuple[RemoteObject, ...], kind_name: str, sample: int
) -> float:
    kind = OBJECT_KINDS[kind_name]
    changes = compile_changes(kind)
    picked = rows[:: max(1, len(rows) // sample)][:sample]
    started = time.perf_counter()
    for row in picked:
        key = kind.normalise_key(row.key)
        match = next(
            (o for o in cloud if kind.normalise_key(str(o.fields.get(kind.key_field, ""))) == key),
            None,
        )
        changes(row.values, {} if match is None else match.fields)
    return (time.perf_counter() - started) / max(1, len(picked))
