"""Writing exported rows as CSV files in ``load``'s format: one file per kind, named after it.

Columns are ``load``'s own (``syncer.store.validate.columns_of``: the key first, then managed
fields); an unset value is an empty field (``load`` reads that as "don't manage"), booleans are
``true``/``false``. Each file is written beside its final name and renamed into place, so a
failed export never leaves half a file where a good one was.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from syncer.errors import SyncerError
from syncer.export.rows import Row
from syncer.model import kind_named
from syncer.store import columns_of


class ExportError(SyncerError):
    """The output folder cannot be written."""


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_kind(folder: Path, kind: str, rows: Iterable[Row]) -> Path:
    """Write ``rows`` to ``folder/KIND.csv`` (replacing it); returns the path."""
    columns = columns_of(kind_named(kind))
    target = folder / f"{kind}.csv"
    partial = folder / f".{kind}.csv.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([cell(row.get(column)) for column in columns] for row in rows)
        os.replace(partial, target)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
