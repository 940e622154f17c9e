"""Hand-written planner cases: matching, normalisation, modes, ordering and invalid rows."""

from __future__ import annotations

import gc

from syncer.model import LinkKey
from syncer.plan import Action, ChangeKey, FieldChange, Plan, PlanPolicy
from syncer.plan.serialise import plan_from_json, plan_to_json
from syncer.settings import SyncMode, SyncSettings
from syncer.state import InvalidRow, Origin, RemoteObject
from tests.plan.factories import (
    TODAY,
    cloud,
    desired,
    entity,
    group,
    owns,
    plan,
    row,
    user,
)

MIRROR = PlanPolicy(
    modes=dict.fromkeys(
        ["groups", "entities", "users", "group_members", "user_roles"], SyncMode.MIRROR
    )
)
VIEWER = RemoteObject("R-VIEW", 7, {"Name": "Viewer"})


def actions(result: Plan) -> list[tuple[str, str, ChangeKey]]:
    return [(c.kind, c.action.value, c.key) for c in result.changes]


class TestMatchingAndNormalisation:
    def test_whitespace_case_and_empty_values_are_no_change(self) -> None:
        want = desired(
            entities=[row("C-1", name=" Acme ", country_code="ca", operating_name="", active=True)]
        )
        have = cloud(
            entities=[
                RemoteObject(
                    "E1",
                    1,
                    {"EntityNo": "C-1", "Name": "Acme", "CountryCode": "CA", "Type": "A"},
                )
            ]
        )
        result = plan(want, have)
        assert result.changes == ()
        assert result.summary["entities"].noop == 1

    def test_name_case_is_a_change_where_the_api_keeps_case(self) -> None:
        result = plan(desired(entities=[row("C-1", name="ACME")]), cloud(entities=[entity("C-1")]))
        (change,) = result.changes
        assert change.action is Action.UPDATE
        assert change.fields == {"Name": FieldChange("Acme", "ACME")}
        assert change.carry == {"OwnerType": "Client"}

    def test_none_means_unmanaged(self) -> None:
        want = desired(entities=[row("C-1", name=None, operating_name=None)])
        have = cloud(entities=[entity("C-1", name="Whatever")])
        assert plan(want, have).changes == ()

    def test_email_and_group_name_match_case_insensitively(self) -> None:
        want = desired(users=[row(" Ann@X.com ", first_name="Ann")], groups=[row("AUDIT")])
        have = cloud(users=[user("ann@x.com", FirstName="Ann")], groups=[group("Audit")])
        result = plan(want, have)
        assert result.changes == ()
        assert result.summary["users"].noop == 1
        assert result.summary["groups"].noop == 1

    def test_id_map_wins_over_natural_key_and_repairs_a_rename(self) -> None:
        renamed = entity("C-1-OLD", guid="E-1")
        owned = owns(("entities", entity("C-1", guid="e-1")))
        result = plan(desired(entities=[row("C-1", name="Acme")]), cloud(entities=[renamed]), owned)
        (change,) = result.changes
        assert (change.action, change.remote_id) == (Action.UPDATE, "E-1")
        assert change.fields == {"EntityNo": FieldChange("C-1-OLD", "C-1")}

    def test_active_flag_is_compared_in_api_terms(self) -> None:
        have = cloud(entities=[entity("C-1", active="A"), entity("C-2", active="I")])
        want = desired(entities=[row("C-1", active=True), row("C-2", active=True)])
        (change,) = plan(want, have).changes
        assert change.key == "C-2"
        assert change.fields == {"Type": FieldChange("I", "A")}

    def test_user_deactivated_by_desired_gets_an_inactive_date_and_reactivation_clears_it(
        self,
    ) -> None:
        have = cloud(
            users=[user("a@x.com"), user("b@x.com", active="I", InActiveDate="2025-01-01")]
        )
        want = desired(users=[row("a@x.com", active=False), row("b@x.com", active=True)])
        by_key = {c.key: c for c in plan(want, have).changes}
        assert by_key["a@x.com"].fields == {
            "Type": FieldChange("A", "I"),
            "InActiveDate": FieldChange(None, TODAY),
        }
        assert by_key["b@x.com"].fields == {
            "Type": FieldChange("I", "A"),
            "InActiveDate": FieldChange("2025-01-01", None),
        }

    def test_create_sends_key_constants_and_managed_values_and_can_create_inactive(self) -> None:
        want = desired(
            entities=[row("C-9", name="New", active=False)],
            users=[row("n@x.com", owner_type="Staff", active=False)],
        )
        changes = {c.kind: c for c in plan(want, cloud()).changes}
        assert changes["entities"].fields == {
            "EntityNo": FieldChange(None, "C-9"),
            "OwnerType": FieldChange(None, "Client"),
            "Name": FieldChange(None, "New"),
            "Type": FieldChange(None, "I"),
        }
        assert changes["users"].fields["Type"] == FieldChange(None, "I")
        assert changes["users"].fields["InActiveDate"] == FieldChange(None, TODAY)


class TestInvalidRows:
    def test_bad_values_become_invalid_and_are_never_sent(self) -> None:
        want = desired(
            users=[
                row("a@x.com", 2, owner_type="Robot"),
                row("b@x.com", 3, first_name="x" * 31),
                row("c@x.com", 4, admin="yes"),
                row("  ", 5),
            ]
        )
        result = plan(want, cloud())
        assert result.changes == ()
        reasons = {r.row: r.reason for r in result.invalid}
        assert "owner_type must be one of Staff, Contact" in reasons[2]
        assert "first_name is 31 characters long; at most 30" in reasons[3]
        assert "admin must be true or false" in reasons[4]
        assert "email is empty" in reasons[5]
        assert result.summary["users"].invalid == 4

    def test_a_user_create_without_owner_type_is_invalid_but_an_update_needs_none(self) -> None:
        want = desired(
            users=[row("new@x.com", 3, first_name="N"), row("old@x.com", first_name="O")]
        )
        result = plan(want, cloud(users=[user("old@x.com", first_name="Old")]))
        assert [(r.key, r.row) for r in result.invalid] == [("new@x.com", 3)]
        assert "owner_type is required to create" in result.invalid[0].reason
        assert [(c.action, c.key) for c in result.changes] == [("update", "old@x.com")]

    def test_duplicate_keys_are_all_invalid(self) -> None:
        want = desired(users=[row("a@x.com", 2), row("A@X.com ", 7)])
        result = plan(want, cloud())
        assert result.changes == ()
        assert [r.row for r in result.invalid] == [2, 7]
        assert "appears 2 times (rows 2, 7)" in result.invalid[0].reason

    def test_assignments_to_unknown_objects_or_roles_are_invalid(self) -> None:
        want = desired(
            users=[row("a@x.com", owner_type="Staff")],
            group_members=[("Nope", "a@x.com"), ("Audit", "ghost@x.com")],
            user_roles=[("a@x.com", "Emperor"), ("a@x.com", "viewer")],
        )
        result = plan(want, cloud(groups=[group("Audit")], roles=[VIEWER]))
        invalid = {r.key: r.reason for r in result.invalid}
        assert invalid == {
            "Nope|a@x.com": "group_name 'Nope' is neither in desired groups nor in Cloud",
            "Audit|ghost@x.com": (
                "user_email 'ghost@x.com' is neither in desired users nor in Cloud"
            ),
            "a@x.com|Emperor": "role_name 'Emperor' is not among the firm's roles in Cloud",
        }
        adds = [c for c in result.changes if c.action is Action.ADD]
        assert [(c.key, c.carry) for c in adds] == [
            (LinkKey("a@x.com", "Viewer"), {"member_id": "R-VIEW"})
        ]

    def test_loader_invalid_rows_are_reported_and_protect_from_retirement(self) -> None:
        old = entity("C-1")
        loader = InvalidRow("entities", "C-1", "name is too long", 4)
        want = desired(entities=[row("C-2")], invalid=[loader])
        result = plan(want, cloud(entities=[old]), owns(("entities", old)), MIRROR)
        assert loader in result.invalid
        assert all(c.action is not Action.DEACTIVATE for c in result.changes)


class TestAssignments:
    def test_adds_missing_and_mirror_removes_extra_only_for_owned_parents(self) -> None:
        audit, tax = group("Audit"), group("Tax")
        ann, bob = user("ann@x.com"), user("bob@x.com")
        have = cloud(
            groups=[audit, tax],
            users=[ann, bob],
            group_members=[("G-Audit", "U-bob@x.com"), ("G-Tax", "U-bob@x.com")],
        )
        want = desired(
            groups=[row("Audit"), row("Tax")],
            users=[row("ann@x.com"), row("bob@x.com")],
            group_members=[("audit", "ANN@x.com")],
        )
        result = plan(want, have, owns(("groups", audit)), MIRROR)
        assert actions(result) == [
            ("group_members", "add", LinkKey("Audit", "ann@x.com")),
            ("group_members", "remove", LinkKey("Audit", "bob@x.com")),
        ]
        assert result.changes[0].carry == {"member_id": "U-ann@x.com"}

    def test_upsert_never_removes(self) -> None:
        audit = group("Audit")
        have = cloud(
            groups=[audit],
            users=[user("b@x.com"), user("c@x.com")],
            group_members=[("G-Audit", "U-b@x.com"), ("G-Audit", "U-c@x.com")],
        )
        want = desired(groups=[row("Audit")], group_members=[("Audit", "c@x.com")])
        assert plan(want, have, owns(("groups", audit))).changes == ()
        mirrored = plan(want, have, owns(("groups", audit)), MIRROR)
        assert actions(mirrored) == [("group_members", "remove", LinkKey("Audit", "b@x.com"))]

    def test_members_of_a_group_being_created_are_added_after_it(self) -> None:
        want = desired(
            groups=[row("New")],
            users=[row("n@x.com", owner_type="Staff")],
            group_members=[("New", "n@x.com")],
        )
        result = plan(want, cloud())
        assert actions(result) == [
            ("groups", "create", "New"),
            ("users", "create", "n@x.com"),
            ("group_members", "add", LinkKey("New", "n@x.com")),
        ]
        assert result.changes[-1].remote_id is None
        assert result.changes[-1].carry == {"member_id": None}


class TestModes:
    def test_create_only_holds_updates_back(self) -> None:
        policy = PlanPolicy(modes={"entities": SyncMode.CREATE_ONLY})
        want = desired(entities=[row("C-1", name="New name"), row("C-2")])
        result = plan(want, cloud(entities=[entity("C-1")]), policy=policy)
        assert actions(result) == [("entities", "create", "C-2")]
        (skipped,) = result.skipped
        assert (skipped.change.action, skipped.reason) == (
            Action.UPDATE,
            "entities mode is create-only",
        )
        assert result.summary["entities"].skipped == 1

    def test_update_only_holds_creates_and_their_assignments_back(self) -> None:
        policy = PlanPolicy(modes={"users": SyncMode.UPDATE_ONLY})
        want = desired(
            users=[row("a@x.com", first_name="A"), row("new@x.com", owner_type="Staff")],
            user_roles=[("new@x.com", "Viewer")],
        )
        result = plan(want, cloud(users=[user("a@x.com")], roles=[VIEWER]), policy=policy)
        assert actions(result) == [("users", "update", "a@x.com")]
        assert {(s.change.kind, s.change.action) for s in result.skipped} == {
            ("users", Action.CREATE),
            ("user_roles", Action.ADD),
        }

    def test_upsert_does_not_retire(self) -> None:
        old = entity("C-1")
        result = plan(
            desired(entities=[row("C-2")]), cloud(entities=[old]), owns(("entities", old))
        )
        assert actions(result) == [("entities", "create", "C-2")]


class TestOrdering:
    def test_build_up_in_dependency_order_then_tear_down_in_reverse(self) -> None:
        policy = PlanPolicy(modes=MIRROR.modes, delete_users=True)
        gone_group, gone_user, gone_entity = group("Old"), user("old@x.com"), entity("C-0")
        keep = group("Keep")
        have = cloud(
            groups=[gone_group, keep],
            users=[gone_user, user("stay@x.com")],
            entities=[gone_entity],
            group_members=[("G-Keep", "U-stay@x.com")],
        )
        want = desired(
            groups=[row("Keep"), row("New")],
            users=[
                row("stay@x.com"),
                row("b@x.com", owner_type="Staff"),
                row("a@x.com", owner_type="Staff"),
            ],
            entities=[row("C-1")],
            group_members=[("New", "a@x.com")],
        )
        owned = owns(
            ("groups", gone_group),
            ("groups", keep),
            ("users", gone_user),
            ("entities", gone_entity),
        )
        result = plan(want, have, owned, policy)
        assert actions(result) == [
            ("groups", "create", "New"),
            ("entities", "create", "C-1"),
            ("users", "create", "a@x.com"),
            ("users", "create", "b@x.com"),
            ("group_members", "add", LinkKey("New", "a@x.com")),
            ("group_members", "remove", LinkKey("Keep", "stay@x.com")),
            ("users", "delete", "old@x.com"),
            ("entities", "deactivate", "C-0"),
            ("groups", "delete", "Old"),
        ]


def test_policy_from_settings_normalises_protected_keys() -> None:
    settings = SyncSettings(
        modes={"users": SyncMode.MIRROR},
        protected={"users": [" Boss@X.com"], "group_members": ["Audit|Boss@x.com"]},
        delete_users=True,
        retire_threshold_count=5,
        retire_threshold_ratio=0.5,
    )
    policy = PlanPolicy.from_settings(settings)
    assert policy.mode("users") is SyncMode.MIRROR
    assert policy.mode("entities") is SyncMode.UPSERT
    assert policy.is_protected("users", "boss@x.com")
    assert policy.is_protected("group_members", "audit|boss@x.com")
    assert (policy.threshold.count, policy.threshold.ratio, policy.delete_users) == (5, 0.5, True)


def test_planning_restores_the_garbage_collector_state() -> None:
    assert gc.isenabled()
    plan(desired(entities=[row("C-1")]), cloud())
    assert gc.isenabled()
    gc.disable()
    try:
        plan(desired(entities=[row("C-1")]), cloud())
        assert not gc.isenabled()
    finally:
        gc.enable()


class TestAdoption:
    def test_objects_matched_by_key_but_not_in_the_id_map_are_adopted(self) -> None:
        mine, theirs, shielded = entity("C-1"), entity("C-2"), entity("C-3")
        want = desired(entities=[row("C-1"), row("C-2"), row("C-3")])
        protect = PlanPolicy.from_settings(SyncSettings(protected={"entities": ["C-3"]}))
        result = plan(
            want, cloud(entities=[mine, theirs, shielded]), owns(("entities", mine)), protect
        )
        assert [(a.kind, a.key, a.cwguid) for a in result.adoptions] == [
            ("entities", "C-2", theirs.cwguid)
        ]
        assert all(a.origin is Origin.ADOPTED for a in result.adoptions)

    def test_a_stale_id_map_entry_is_replaced_by_the_object_the_key_now_matches(self) -> None:
        gone, current = entity("C-1", guid="G-OLD"), entity("C-1", guid="G-NEW")
        result = plan(
            desired(entities=[row("C-1")]), cloud(entities=[current]), owns(("entities", gone))
        )
        assert [(a.key, a.cwguid) for a in result.adoptions] == [("C-1", "G-NEW")]

    def test_adoptions_survive_the_json_round_trip(self) -> None:
        result = plan(desired(entities=[row("C-1")]), cloud(entities=[entity("C-1")]))
        assert plan_from_json(plan_to_json(result)).adoptions == result.adoptions
