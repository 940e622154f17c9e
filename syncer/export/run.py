"""Read one firm's Cloud state and write the chosen kinds as CSV files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from syncer.cloud import CloudClient, read_children, read_cloud_state
from syncer.export.files import write_kind
from syncer.export.rows import export_rows
from syncer.model import CHILD_KINDS
from syncer.settings import Settings


@dataclass(frozen=True, slots=True)
class KindWritten:
    kind: str
    path: Path
    rows: int
    left_out: int


async def export_firm(settings: Settings, out: Path, kinds: frozenset[str]) -> list[KindWritten]:
    """Read Cloud (read-only: nothing is written there, nor to the database) and write the files;
    children (addresses) are read, one request per parent, only when their kind is exported."""
    async with CloudClient.open(settings.cloud) as client:
        cloud = await read_cloud_state(client)
        children = {
            kind.name: await read_children(
                client, kind, [obj.cwguid for obj in cloud.objects.get(kind.parent_kind, ())]
            )
            for kind in CHILD_KINDS.values()
            if kind.name in kinds
        }
    cloud = dataclasses.replace(cloud, children=children)
    exported = export_rows(cloud, kinds)
    return [
        KindWritten(kind, write_kind(out, kind, rows), len(rows), exported.left_out[kind])
        for kind, rows in exported.rows.items()
    ]
