"""One kind's desired rows by normalised key, with keys listed more than once set apart.

Which of two rows with the same key was meant cannot be decided, and picking the first would
depend on row order, so every row of such a key is reported invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import NamedTuple

from syncer.model import ObjectKind
from syncer.plan.outcome import KindOutcome
from syncer.state import DesiredRow, InvalidRow


def report_duplicates(
    kind: ObjectKind, duplicates: Mapping[str, list[DesiredRow]], out: KindOutcome
) -> None:
    for dupes in duplicates.values():
        lines = ", ".join(str(r.row) for r in sorted(dupes, key=_row_order))
        for row in dupes:
            reason = (
                f"{kind.key_column} {row.key.strip()!r} appears {len(dupes)} times (rows {lines})"
            )
            out.invalid.append(InvalidRow(kind.name, row.key, reason, row.row))


def _row_order(row: DesiredRow) -> tuple[int, str]:
    return (row.row if row.row is not None else -1, row.key)


class Keyed(NamedTuple):
    """One kind's desired rows by normalised key (``by_key``)."""

    keys: Sequence[str]
    """The keys listed once, in row order."""
    rows: Sequence[DesiredRow]
    """The row of each of ``keys``, in the same order."""
    listed: Set[str]
    """``keys`` as a set."""
    duplicates: dict[str, list[DesiredRow]]
    """Keys listed more than once, with all their rows."""


def by_key(kind: ObjectKind, rows: Sequence[DesiredRow]) -> Keyed:
    """Rows by normalised key; every row of a key listed more than once is set apart (which one
    was meant cannot be decided, and picking the first would depend on row order)."""
    # ``ObjectKind.normalise_key`` written out, as comprehensions of C methods: no Python call
    # per row. Keys are nearly always distinct, which a set of them shows (built in half the
    # time of a dict of the rows); only then are keys and rows paired up one by one.
    keys = [row.key.strip() for row in rows]
    if kind.key_case_insensitive:
        keys = [key.casefold() for key in keys]
    distinct = set(keys)
    if len(distinct) == len(rows):
        return Keyed(keys, rows, distinct, {})
    unique: dict[str, DesiredRow] = {}
    duplicates: dict[str, list[DesiredRow]] = {}
    for key, row in zip(keys, rows, strict=True):
        if key in duplicates:
            duplicates[key].append(row)
        elif key in unique:
            duplicates[key] = [unique.pop(key), row]
        else:
            unique[key] = row
    return Keyed(list(unique), list(unique.values()), unique.keys(), duplicates)
