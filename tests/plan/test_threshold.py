"""Every safety guard: threshold, protection, empty or unreadable source, ownership, staleness."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import orjson
import pytest

from syncer.model import LinkKey
from syncer.plan import Action, PlanPolicy, RetireThreshold, fingerprint
from syncer.plan.fingerprint import CHUNK
from syncer.settings import SyncMode
from syncer.state import CloudState, RemoteObject
from tests.plan.factories import ALL, cloud, desired, entity, group, owns, plan, row, user

MIRROR = PlanPolicy(
    modes=dict.fromkeys(
        ["groups", "entities", "users", "group_members", "user_roles"], SyncMode.MIRROR
    )
)


def staff(count: int) -> list[RemoteObject]:
    return [user(f"u{i:03}@x.com") for i in range(count)]


class TestRetireThreshold:
    def test_beyond_count_and_ratio_every_retirement_of_the_kind_is_blocked(self) -> None:
        users = staff(120)
        want = desired(users=[row(str(u.fields["Email"])) for u in users[35:]])
        result = plan(want, cloud(users=users), owns(*(("users", u) for u in users)), MIRROR)
        assert result.changes == ()
        assert len(result.blocked) == 35
        assert result.blocked[0].reason == (
            "would deactivate 35 of 120 users syncer owns (29 %); threshold is more than 20 "
            "and more than 10 %; rerun apply with --allow-deletes to release"
        )
        assert result.summary["users"].blocked == 35
        assert result.summary["users"].delete == 0
        assert result.has_changes

    @pytest.mark.parametrize(
        ("retiring", "threshold", "blocked"),
        [
            (20, RetireThreshold(20, 0.10), False),  # not more than the count
            (21, RetireThreshold(20, 0.10), True),
            (30, RetireThreshold(20, 0.30), False),  # 30 of 100 is not more than 30 %
            (31, RetireThreshold(20, 0.30), True),
        ],
    )
    def test_both_limits_must_be_exceeded(
        self, retiring: int, threshold: RetireThreshold, blocked: bool
    ) -> None:
        entities = [entity(f"C-{i:03}") for i in range(100)]
        want = desired(entities=[row(str(e.fields["EntityNo"])) for e in entities[retiring:]])
        policy = PlanPolicy(modes=MIRROR.modes, threshold=threshold)
        result = plan(
            want, cloud(entities=entities), owns(*(("entities", e) for e in entities)), policy
        )
        assert bool(result.blocked) is blocked
        assert len(result.changes) == (0 if blocked else retiring)

    def test_removals_are_guarded_against_the_assignments_syncer_owns(self) -> None:
        audit = group("Audit")
        users = staff(30)
        links = [(audit.cwguid, u.cwguid) for u in users]
        want = desired(
            groups=[row("Audit")],
            users=[row(str(u.fields["Email"])) for u in users],
            group_members=[("Audit", "u000@x.com")],
        )
        result = plan(
            want,
            cloud(groups=[audit], users=users, group_members=links),
            owns(("groups", audit)),
            MIRROR,
        )
        assert result.changes == ()
        assert len(result.blocked) == 29
        assert result.blocked[0].reason.startswith("would remove 29 of 30 group_members")

    def test_a_blocked_deactivation_holds_back_its_memberships_and_roles(self) -> None:
        """25 of 120 users leave: their deactivations are blocked, and so are the removals of
        their groups and roles, though those (2 of 121 assignments) are under the threshold."""
        audit, admin = group("Audit"), group("Admin", guid="R-admin")
        users = staff(120)
        leaver, stayer = users[0], users[119]
        want = desired(
            groups=[row("Audit")],
            users=[row(str(u.fields["Email"])) for u in users[25:]],
            group_members=[("Audit", str(u.fields["Email"])) for u in users[25:]],
            user_roles=[(str(stayer.fields["Email"]), "Admin")],
        )
        have = cloud(
            groups=[audit],
            users=users,
            roles=[admin],
            group_members=[(audit.cwguid, u.cwguid) for u in users[24:]],
            user_roles=[(leaver.cwguid, admin.cwguid), (stayer.cwguid, admin.cwguid)],
        )
        owned = owns(("groups", audit), *(("users", u) for u in users))
        result = plan(want, have, owned, MIRROR)
        assert result.changes == ()
        held = {(b.change.kind, b.change.key): b.reason for b in result.blocked}
        assert len(held) == 27
        assert held[("group_members", LinkKey("Audit", "u024@x.com"))] == (
            "held back with the blocked deactivation of users 'u024@x.com' (same cause); "
            "rerun apply with --allow-deletes to release"
        )
        assert held[("user_roles", LinkKey("u000@x.com", "Admin"))].startswith(
            "held back with the blocked deactivation of users 'u000@x.com'"
        )
        assert result.summary["group_members"].blocked == 1
        assert result.summary["user_roles"].blocked == 1

    def test_links_of_retirements_under_the_threshold_go_ahead(self) -> None:
        audit = group("Audit")
        users = staff(30)
        want = desired(
            groups=[row("Audit")],
            users=[row(str(u.fields["Email"])) for u in users[1:]],
            group_members=[("Audit", str(u.fields["Email"])) for u in users[1:]],
        )
        have = cloud(
            groups=[audit], users=users, group_members=[(audit.cwguid, u.cwguid) for u in users]
        )
        owned = owns(("groups", audit), *(("users", u) for u in users))
        result = plan(want, have, owned, MIRROR)
        assert result.blocked == ()
        assert {(c.kind, c.action, c.key) for c in result.changes} == {
            ("users", Action.DEACTIVATE, "u000@x.com"),
            ("group_members", Action.REMOVE, LinkKey("Audit", "u000@x.com")),
        }

    def test_a_link_kind_past_its_own_threshold_names_the_blocked_end_where_there_is_one(
        self,
    ) -> None:
        audit = group("Audit")
        users = staff(120)
        want = desired(
            groups=[row("Audit")],
            users=[row(str(u.fields["Email"])) for u in users[25:]],
            group_members=[("Audit", "u119@x.com")],
        )
        have = cloud(
            groups=[audit], users=users, group_members=[(audit.cwguid, u.cwguid) for u in users]
        )
        owned = owns(("groups", audit), *(("users", u) for u in users))
        result = plan(want, have, owned, MIRROR)
        reasons = {b.change.key: b.reason for b in result.blocked if b.change.kind != "users"}
        assert len(reasons) == 119
        assert reasons[LinkKey("Audit", "u000@x.com")].startswith(
            "held back with the blocked deactivation"
        )
        assert reasons[LinkKey("Audit", "u100@x.com")].startswith(
            "would remove 119 of 120 group_members"
        )


class TestProtected:
    def test_protected_objects_are_neither_updated_nor_retired(self) -> None:
        boss, old = user("boss@x.com"), entity("C-OLD")
        policy = PlanPolicy(
            modes=MIRROR.modes,
            protected={"users": frozenset({"boss@x.com"}), "entities": frozenset({"C-OLD"})},
        )
        want = desired(users=[row("BOSS@x.com", first_name="Changed")], entities=[row("C-1")])
        have = cloud(users=[boss], entities=[old, entity("C-1")])
        result = plan(want, have, owns(("users", boss), ("entities", old)), policy)
        assert result.changes == ()
        assert {(s.change.action, s.reason) for s in result.skipped} == {
            (Action.UPDATE, "protected by configuration (sync.protected)"),
            (Action.DEACTIVATE, "protected by configuration (sync.protected)"),
        }

    def test_protected_parent_keeps_its_assignments(self) -> None:
        audit = group("Audit")
        have = cloud(
            groups=[audit],
            users=[user("a@x.com"), user("b@x.com")],
            group_members=[("G-Audit", "U-a@x.com")],
        )
        want = desired(groups=[row("Audit")], group_members=[("Audit", "b@x.com")])
        policy = PlanPolicy(modes=MIRROR.modes, protected={"groups": frozenset({"audit"})})
        result = plan(want, have, owns(("groups", audit)), policy)
        assert result.changes == ()
        assert {s.change.action for s in result.skipped} == {Action.ADD, Action.REMOVE}


class TestSourceAndOwnership:
    def test_unreadable_source_never_retires(self) -> None:
        old = entity("C-OLD")
        want = desired(entities=[row("C-1")], complete=ALL - {"entities"})
        result = plan(want, cloud(entities=[old, entity("C-1")]), owns(("entities", old)), MIRROR)
        assert result.changes == ()

    def test_empty_source_never_retires(self) -> None:
        old = entity("C-OLD")
        result = plan(desired(), cloud(entities=[old]), owns(("entities", old)), MIRROR)
        assert result.changes == ()
        assert result.blocked == ()

    def test_objects_syncer_does_not_own_are_never_retired(self) -> None:
        mine, theirs = entity("C-MINE"), entity("C-THEIRS")
        result = plan(
            desired(entities=[row("C-1")]),
            cloud(entities=[mine, theirs, entity("C-1")]),
            owns(("entities", mine)),
            MIRROR,
        )
        assert [(c.action, c.key) for c in result.changes] == [(Action.DEACTIVATE, "C-MINE")]

    def test_already_inactive_is_no_change_and_owned_but_gone_is_ignored(self) -> None:
        asleep, gone = entity("C-ASLEEP", active="I"), entity("C-GONE")
        have = cloud(entities=[asleep, entity("C-1")])
        result = plan(
            desired(entities=[row("C-1")]),
            have,
            owns(("entities", asleep), ("entities", gone)),
            MIRROR,
        )
        assert result.changes == ()
        assert result.summary["entities"].noop == 2

    def test_users_are_deleted_only_when_configured_and_groups_always(self) -> None:
        old_user, old_group = user("old@x.com"), group("Old")
        want = desired(users=[row("a@x.com")], groups=[row("New")])
        have = cloud(users=[old_user], groups=[old_group])
        owned = owns(("users", old_user), ("groups", old_group))
        default = plan(want, have, owned, MIRROR)
        deleting = plan(want, have, owned, PlanPolicy(modes=MIRROR.modes, delete_users=True))
        retire = {(c.kind, c.action) for c in default.changes if c.remote_id}
        assert retire == {("users", Action.DEACTIVATE), ("groups", Action.DELETE)}
        deactivate = next(c for c in default.changes if c.action is Action.DEACTIVATE)
        assert deactivate.fields["InActiveDate"].after == "2026-03-01"
        assert deactivate.carry == {"OwnerType": "Staff"}
        assert {(c.kind, c.action) for c in deleting.changes if c.remote_id} == {
            ("users", Action.DELETE),
            ("groups", Action.DELETE),
        }


class TestFingerprint:
    def test_independent_of_order_and_guid_case(self) -> None:
        a, b = entity("C-1"), entity("C-2")
        lower = RemoteObject(a.cwguid.lower(), a.id, dict(reversed(list(a.fields.items()))))
        assert fingerprint(cloud(entities=[a, b])) == fingerprint(cloud(entities=[b, lower]))

    def test_a_big_kind_hashes_as_one_document_in_any_order(self) -> None:
        """Big kinds are encoded in chunks; the bytes hashed must stay those of the whole
        sorted document, across chunk boundaries and whatever the listing order."""
        objects = [entity(f"C-{i}", guid=f"E-{i:05}") for i in range(2 * CHUNK + 3)]
        rows = [[o.cwguid.lower(), o.id, o.fields] for o in objects]
        document = orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)
        expected = hashlib.sha256(b"\x00objects:entities\x00" + document + b"\n\x00roles\x00[]\n")
        shuffled = [replace(o, cwguid=o.cwguid.lower()) for o in reversed(objects)]
        for listing in (objects, shuffled):
            state = CloudState(objects={"entities": tuple(listing)})
            lowered = {"entities": [o.cwguid.lower() for o in listing]}
            assert fingerprint(state) == expected.hexdigest()
            assert fingerprint(state, lowered) == expected.hexdigest()

    def test_any_change_in_cloud_makes_the_plan_stale(self) -> None:
        base = cloud(entities=[entity("C-1")], group_members=[("G", "U")])
        changed = [
            cloud(entities=[entity("C-1", name="Other")], group_members=[("G", "U")]),
            cloud(entities=[entity("C-1")], group_members=[("G", "U2")]),
            cloud(entities=[entity("C-1"), entity("C-2")], group_members=[("G", "U")]),
            cloud(entities=[entity("C-1")], group_members=[("G", "U")], roles=[group("R")]),
        ]
        prints = {fingerprint(state) for state in [base, *changed]}
        assert len(prints) == 5
        assert all(len(p) == 64 for p in prints)
        assert plan(desired(), base).fingerprint == fingerprint(base)


def test_an_object_renamed_in_cloud_and_listed_under_its_new_key_is_not_retired() -> None:
    renamed = entity("C-NEW", guid="E-1")
    owned = owns(("entities", entity("C-OLD", guid="E-1")))
    want = desired(entities=[row("C-NEW", name="Acme"), row("C-2")])
    result = plan(want, cloud(entities=[renamed]), owned, MIRROR)
    assert [(c.action, c.key) for c in result.changes] == [(Action.CREATE, "C-2")]


def test_a_cwguid_listed_twice_in_other_case_is_claimed_by_either_spelling() -> None:
    """Cloud listing one CWGuid twice (letter case aside): a row matching either object keeps
    the id map's stale entry for that CWGuid from retiring the other."""
    first = entity("C-1", guid="E-1")
    second = entity("C-9", guid="e-1")
    owned = owns(("entities", entity("C-OLD", guid="E-1")))
    want = desired(entities=[row("C-1"), row("C-2")])
    result = plan(want, cloud(entities=[first, second]), owned, MIRROR)
    assert [(c.action, c.key) for c in result.changes] == [(Action.CREATE, "C-2")]
