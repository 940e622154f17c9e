"""One rule for comparable keys, ``model.normalise_key``; the planner's fast inline copies
(comprehensions of C methods, measured to matter at a million rows) are pinned to it here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncer.model import CHILD_KINDS, OBJECT_KINDS, ROLES, ChildKind, ObjectKind, normalise_key
from syncer.plan import build_plan
from syncer.plan.index import CloudIndex
from syncer.plan.keyed import by_key
from syncer.plan.policy import PlanPolicy
from syncer.settings import SyncSettings
from syncer.state import CloudState, DesiredRow, DesiredState, Origin, Ownership, RemoteObject

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPELLINGS = (
    " Straße ",
    "STRASSE",
    "C-007 ",
    "\u2003Ann@X.com\t",
    "C-007",
    "c-007",
    "ǅ Dž",
    "İstanbul",
)


@pytest.mark.parametrize("kind", OBJECT_KINDS.values(), ids=lambda kind: kind.name)
def test_desired_keys_are_normalised_by_the_one_rule(kind: ObjectKind) -> None:
    keyed = by_key(kind, [DesiredRow(raw, {}, n) for n, raw in enumerate(SPELLINGS)])
    expected = {normalise_key(kind.name, raw) for raw in SPELLINGS}
    assert set(keyed.keys) | set(keyed.duplicates) == expected


@pytest.mark.parametrize("distinct", [True, False], ids=["fast path", "duplicates"])
@pytest.mark.parametrize("kind", OBJECT_KINDS.values(), ids=lambda kind: kind.name)
def test_cloud_keys_are_normalised_by_the_one_rule(kind: ObjectKind, distinct: bool) -> None:
    spellings = SPELLINGS[:1] if distinct else SPELLINGS
    objects = [RemoteObject(f"G-{n}", n, {kind.key_field: raw}) for n, raw in enumerate(spellings)]
    index = CloudIndex.build(objects, kind.key_field, kind.key_case_insensitive)
    assert set(index.by_key) == {normalise_key(kind.name, raw) for raw in spellings}


def test_roles_compare_case_insensitively_and_other_names_are_only_trimmed() -> None:
    assert normalise_key(ROLES.name, " ADMIN ") == "admin"
    assert normalise_key("something else", " ADMIN ") == "ADMIN"


@pytest.mark.parametrize("kind", CHILD_KINDS.values(), ids=lambda kind: kind.name)
def test_child_keys_follow_the_parents_rule_and_fold_the_category(kind: ChildKind) -> None:
    """The id map, the planner and apply's scheduler tokens all compare a child's key
    (``parent|category``) through this rule: the parent by its kind's, the category folded."""
    for spelling in SPELLINGS:
        key = f"{spelling}| bUSINESS "
        parent = normalise_key(kind.parent_kind, spelling)
        assert normalise_key(kind.name, key) == f"{parent}|business" == kind.normalise_key(key)


def test_protected_assignments_follow_both_ends_rules() -> None:
    policy = PlanPolicy.from_settings(
        SyncSettings(protected={"user_roles": [" Ann@X.com| ADMIN "]})
    )
    assert policy.is_protected("user_roles", "ann@x.com|admin")


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("kind", OBJECT_KINDS.values(), ids=lambda kind: kind.name)
def test_a_rename_is_seen_by_the_one_rule(kind: ObjectKind, spelling: str) -> None:
    """The planner's inline rename check: Cloud's spelling of an object the id map ties to a
    desired row is another key exactly when ``normalise_key`` says so. (A user's key is an
    e-mail address: the planner refuses to rename a user to anything else, as the door does.)"""
    wanted = "Ann@X.com" if kind.key_is_email else "C-007"
    obj = RemoteObject("GUID-1", 1, {kind.key_field: spelling})
    key = normalise_key(kind.name, wanted)
    owned = {(kind.name, key): Ownership(kind.name, key, "GUID-1", 1, Origin.ADOPTED)}
    want = DesiredState(objects={kind.name: (DesiredRow(wanted, {}, 1),)})
    have = CloudState(objects={kind.name: (obj,)})
    result = build_plan(want, have, owned, PlanPolicy(), firm="acme", now=NOW)
    renamed = any(kind.key_field in change.fields for change in result.changes)
    assert renamed == (normalise_key(kind.name, spelling) != key)
