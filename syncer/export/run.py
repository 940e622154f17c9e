"""Read one firm's Cloud state and write the chosen kinds as CSV files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from syncer.cloud.client import CloudClient
from syncer.cloud.reader import read_cloud_state
from syncer.export.files import write_kind
from syncer.export.rows import export_rows
from syncer.settings import Settings


@dataclass(frozen=True, slots=True)
class KindWritten:
    kind: str
    path: Path
    rows: int
    left_out: int


async def export_firm(settings: Settings, out: Path, kinds: frozenset[str]) -> list[KindWritten]:
    """Read Cloud (read-only: nothing is written there, nor to the database) and write the files."""
    async with CloudClient.open(settings.cloud) as client:
        cloud = await read_cloud_state(client)
    exported = export_rows(cloud, kinds)
    return [
        KindWritten(kind, write_kind(out, kind, rows), len(rows), exported.left_out[kind])
        for kind, rows in exported.rows.items()
    ]
