"""Assignments in the plan JSON: ``key`` is display text; the ends are read back exactly; plans
order assignments as their display text always did."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from syncer.model import LinkKey
from syncer.plan import Action, Change, Plan, key_text, plan_from_json, plan_to_json
from syncer.plan.order import ordered

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _plan(*changes: Change) -> Plan:
    return Plan(firm="acme", created_at=NOW, fingerprint="f", changes=changes)


def _read(doc: dict[str, object]) -> Plan:
    return plan_from_json(orjson.dumps(doc))


def test_ends_with_bars_round_trip_and_plain_ones_are_written_as_before() -> None:
    bar = Change.assignment("group_members", Action.ADD, LinkKey("R|D", "a@x.com"), "G", "U")
    plain = Change.assignment("user_roles", Action.ADD, LinkKey("a@x.com", "Admin"), "U", "R")
    data = plan_to_json(_plan(bar, plain))
    written = orjson.loads(data)["changes"]
    assert [c["key"] for c in written] == ["R|D|a@x.com", "a@x.com|Admin"]
    assert [c.get("link") for c in written] == [{"parent": "R|D", "member": "a@x.com"}, None]
    assert plan_from_json(data).changes == (bar, plain)


def test_an_old_plan_file_cuts_a_key_where_both_ends_make_sense() -> None:
    """Written before ``link`` existed: the plan creates group "R|D team", so that is the cut."""
    doc = orjson.loads(plan_to_json(_plan()))
    doc["changes"] = [
        {"kind": "groups", "action": "create", "key": "R|D team"},
        {"kind": "group_members", "action": "add", "key": "R|D team|ann@x.com",
         "carry": {"member_id": "U-1"}},
        {"kind": "user_roles", "action": "add", "key": "ann@x.com|Admin", "remote_id": "U-1",
         "carry": {"member_id": "R-1"}},
    ]  # fmt: skip
    keys = [c.key for c in _read(doc).changes]
    assert keys == ["R|D team", LinkKey("R|D team", "ann@x.com"), LinkKey("ann@x.com", "Admin")]


def test_an_old_key_with_no_known_end_is_cut_at_the_first_bar() -> None:
    doc = orjson.loads(plan_to_json(_plan()))
    doc["changes"] = [{"kind": "group_members", "action": "add", "key": "A|B|c@x.com"}]
    assert _read(doc).changes[0].key == LinkKey("A", "B|c@x.com")


def test_ends_that_both_hold_bars_round_trip_apart() -> None:
    """Two assignments with one display text are two entries, each with its ends."""
    twins = [
        Change.assignment("user_roles", Action.ADD, LinkKey("a|b@x.com", "Read|Write"), "U", "R"),
        Change.assignment("user_roles", Action.ADD, LinkKey("a", "b@x.com|Read|Write"), "V", "S"),
    ]
    data = plan_to_json(_plan(*twins))
    assert [c["key"] for c in orjson.loads(data)["changes"]] == ["a|b@x.com|Read|Write"] * 2
    assert plan_from_json(data).changes == tuple(twins)


def test_assignments_sort_as_their_display_text_always_did() -> None:
    """``Group 10`` before ``Group 1`` (``0`` sorts before ``|``): plans read as they did."""
    links = [LinkKey("Group 1", "b@x.com"), LinkKey("Group 10", "a@x.com")]
    adds = [Change.assignment("group_members", Action.ADD, link, "G", "U") for link in links]
    assert [c.key for c in ordered(adds)] == sorted(links, key=key_text)
    assert [c.key for c in ordered(adds)] == [links[1], links[0]]
