"""Which clients' addresses a run reads: only where syncer does not know them in step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.children.marks import Mark, digest
from syncer.children.scope import ReadPolicy, parents_to_read
from syncer.model import ENTITY_ADDRESSES
from syncer.state import DesiredChild

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
ROWS = (
    DesiredChild("C-1", "Business", {"city": "Toronto"}),
    DesiredChild("C-2", "Business", {"city": "Ottawa"}),
    DesiredChild("C-3", "Mailing", {"city": "Halifax"}),
)
GUIDS = {"C-1": "E-1", "C-2": "E-2", "C-3": "E-3"}


def mark(parent: str, *, days_ago: float = 1, guid: str | None = None) -> Mark:
    rows = [row for row in ROWS if row.parent == parent]
    checked = (NOW - timedelta(days=days_ago)).replace(tzinfo=None)  # as SQLite returns it
    return Mark(parent, guid or GUIDS[parent], digest(ENTITY_ADDRESSES, rows), checked)


def test_only_unknown_changed_moved_or_stale_clients_are_read() -> None:
    marks = {"C-1": mark("C-1"), "C-2": mark("C-2", guid="E-OLD"), "C-3": mark("C-3", days_ago=7)}
    read = parents_to_read(ENTITY_ADDRESSES, ROWS, GUIDS, marks, ReadPolicy(NOW, WEEK))
    assert read == ["E-2", "E-3"]

    fresh = {key: mark(key) for key in GUIDS}
    policy = ReadPolicy(NOW, WEEK)
    respelled = (DesiredChild("C-1", " business", {"city": "Toronto "}), *ROWS[1:])
    assert parents_to_read(ENTITY_ADDRESSES, respelled, GUIDS, fresh, policy) == [], (
        "a category compares without case, values without surrounding spaces: nothing changed"
    )
    edited = (DesiredChild("C-1", "Business", {"city": "toronto"}), *ROWS[1:])
    assert parents_to_read(ENTITY_ADDRESSES, edited, GUIDS, fresh, policy) == ["E-1"]


def test_refresh_reads_every_client_and_a_client_being_created_is_never_read() -> None:
    fresh = {key: mark(key) for key in GUIDS}
    guids = {"C-1": "E-1", "C-2": "E-2"}
    assert parents_to_read(
        ENTITY_ADDRESSES, ROWS, guids, fresh, ReadPolicy(NOW, WEEK, refresh=True)
    ) == ["E-1", "E-2"]
    assert parents_to_read(ENTITY_ADDRESSES, ROWS, guids, fresh, ReadPolicy(NOW, WEEK)) == []
