"""Assignment changes are keyed by their ends (``Change.key``, a ``LinkKey``), and are batched
per parent and direction."""

from __future__ import annotations

from syncer.apply.link_batches import batches, split_ends
from syncer.model import GROUP_MEMBERS, LinkKey
from syncer.plan.changes import Action, Change


def test_a_group_name_containing_a_bar_keeps_its_ends() -> None:
    change = Change.assignment(
        "group_members", Action.ADD, LinkKey("R|D team", "ann@x.com"), None, None
    )
    ends = split_ends(change)
    assert (ends.parent, ends.member) == ("R|D team", "ann@x.com")


def test_known_cwguids_come_with_the_ends() -> None:
    change = Change.assignment(
        "user_roles", Action.ADD, LinkKey("ann@x.com", "Admin"), "U-1", "R-1"
    )
    ends = split_ends(change)
    assert (ends.parent, ends.member, ends.parent_id, ends.member_id) == (
        "ann@x.com",
        "Admin",
        "U-1",
        "R-1",
    )


def _add(group: str, email: str, group_id: str, member_id: str) -> Change:
    return Change.assignment(
        "group_members", Action.ADD, LinkKey(group, email), group_id, member_id
    )


def test_changes_are_batched_per_parent_and_direction_up_to_the_batch_size() -> None:
    adds = [
        _add("Audit", f"u{i}@x.com", "G-1", f"U{i}") for i in range(GROUP_MEMBERS.batch_size + 1)
    ]
    removal = Change.assignment(
        "group_members", Action.REMOVE, LinkKey("Audit", "old@x.com"), "G-1", "U-old"
    )
    other = _add("Tax", "u1@x.com", "G-2", "U1")
    found = batches(GROUP_MEMBERS, [*adds, removal, other])
    shape = [(b.action, b.parent, len(b.items)) for b in found]
    assert shape == [
        (Action.ADD, "Audit", GROUP_MEMBERS.batch_size),
        (Action.ADD, "Audit", 1),
        (Action.REMOVE, "Audit", 1),
        (Action.ADD, "Tax", 1),
    ]
