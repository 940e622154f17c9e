"""Which parents' children to read: only where syncer does not know them to be in step.

A parent is read when its desired children changed since they were last seen in step (their
digest differs from its mark), when syncer has no mark for it (its Cloud state is unknown), when
the parent is another object now (a different CWGuid), when its mark is older than the re-read
interval (to catch edits made in Cloud), or always with ``--refresh``. A parent the plan creates
has no children to read. Pure: the caller brings the marks and the clock reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syncer.children.marks import Mark, by_parent, digest
from syncer.model import OBJECT_KINDS, ChildKind
from syncer.plan import CloudIndex, guid_key
from syncer.state import CloudState, DesiredChild, Ownership


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    now: datetime
    reread_after: timedelta
    refresh: bool = False

    def stale(self, mark: Mark) -> bool:
        checked = mark.checked_at
        if checked.tzinfo is None:  # SQLite hands timestamps back without their zone (UTC)
            checked = checked.replace(tzinfo=UTC)
        return self.now - checked >= self.reread_after


def parent_guids(
    kind: ChildKind, cloud: CloudState, owned: Mapping[str, Ownership]
) -> dict[str, str]:
    """Parent normalised key -> CWGuid of the Cloud parent: the id map's, else by natural key."""
    parent = OBJECT_KINDS[kind.parent_kind]
    index = CloudIndex.build(
        cloud.objects.get(parent.name, ()), parent.key_field, parent.key_case_insensitive
    )
    guids = {key: obj.cwguid for key, obj in index.by_key.items()}
    guids.update(
        (key, own.cwguid) for key, own in owned.items() if guid_key(own.cwguid) in index.by_guid
    )
    return guids


def parents_to_read(
    kind: ChildKind,
    rows: Sequence[DesiredChild],
    guids: Mapping[str, str],
    marks: Mapping[str, Mark],
    policy: ReadPolicy,
) -> list[str]:
    """CWGuids of the parents whose children must be read (see the module docstring)."""
    wanted: list[str] = []
    for key, its_rows in by_parent(kind, rows).items():
        guid = guids.get(key)
        if guid is None:
            continue
        mark = marks.get(key)
        if (
            policy.refresh
            or mark is None
            or guid_key(mark.parent_cwguid) != guid_key(guid)
            or mark.digest != digest(kind, its_rows)
            or policy.stale(mark)
        ):
            wanted.append(guid)
    return wanted
