"""Assignment keys split where both ends make sense, and batches per parent and direction."""

from __future__ import annotations

from syncer.apply.link_batches import batches, split_ends
from syncer.model import GROUP_MEMBERS, USER_ROLES
from syncer.plan.changes import Action, Change


def test_a_group_name_containing_a_bar_is_split_at_the_right_bar() -> None:
    change = Change("group_members", Action.ADD, "R|D team|ann@x.com", carry={"member_id": None})
    ends = split_ends(change, GROUP_MEMBERS, {"groups": {"r|d team"}, "users": {"ann@x.com"}})
    assert (ends.parent, ends.member) == ("R|D team", "ann@x.com")


def test_known_cwguids_decide_without_planned_creates() -> None:
    change = Change("user_roles", Action.ADD, "ann@x.com|Admin", "U-1", carry={"member_id": "R-1"})
    ends = split_ends(change, USER_ROLES, {})
    assert (ends.parent, ends.member, ends.parent_id, ends.member_id) == (
        "ann@x.com",
        "Admin",
        "U-1",
        "R-1",
    )


def test_changes_are_batched_per_parent_and_direction_up_to_the_batch_size() -> None:
    adds = [
        Change(
            "group_members", Action.ADD, f"Audit|u{i}@x.com", "G-1", carry={"member_id": f"U{i}"}
        )
        for i in range(GROUP_MEMBERS.batch_size + 1)
    ]
    removal = Change(
        "group_members", Action.REMOVE, "Audit|old@x.com", "G-1", carry={"member_id": "U-old"}
    )
    other = Change("group_members", Action.ADD, "Tax|u1@x.com", "G-2", carry={"member_id": "U1"})
    found = batches(GROUP_MEMBERS, [*adds, removal, other], {})
    shape = [(b.action, b.parent, len(b.items)) for b in found]
    assert shape == [
        (Action.ADD, "Audit", GROUP_MEMBERS.batch_size),
        (Action.ADD, "Audit", 1),
        (Action.REMOVE, "Audit", 1),
        (Action.ADD, "Tax", 1),
    ]
