"""Properties of the planner that must hold for every state hypothesis can think of."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.model import OBJECT_KINDS
from syncer.plan import (
    Action,
    Plan,
    PlanPolicy,
    RetireThreshold,
    build_plan,
    plan_from_json,
    plan_to_json,
)
from syncer.settings import SyncMode
from syncer.state import DesiredState
from syncer.value_rules import normalise
from tests.plan.memory_cloud import apply_plan
from tests.plan.strategies import (
    DESIRED_LINKS,
    DESIRED_ROWS,
    Scenario,
    cloud_matching,
    scenarios,
)

T = TypeVar("T")
FAST = settings(max_examples=60, deadline=None)
"""Enough examples to find the small conflicts the shared key pools make likely, kept quick."""
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIRROR_ALL = PlanPolicy(
    modes=dict.fromkeys([*OBJECT_KINDS, "group_members", "user_roles"], SyncMode.MIRROR)
)
EVERYTHING = frozenset([*OBJECT_KINDS, "group_members", "user_roles"])


def plan(scenario: Scenario) -> Plan:
    desired, cloud, owned, policy = scenario
    return build_plan(desired, cloud, owned, policy, firm="f", now=NOW)


@st.composite
def desired_states(draw: st.DrawFn) -> DesiredState:
    return DesiredState(
        objects={name: draw(rows) for name, rows in DESIRED_ROWS[True].items()},
        links={name: draw(links) for name, links in DESIRED_LINKS.items()},
        complete=EVERYTHING,
    )


@FAST
@given(desired_states())
def test_cloud_already_matching_desired_needs_no_change(desired: DesiredState) -> None:
    cloud, owned = cloud_matching(desired)
    result = build_plan(desired, cloud, owned, MIRROR_ALL, firm="f", now=NOW)
    assert result.changes == ()
    assert result.blocked == ()
    assert result.skipped == ()


@FAST
@given(scenarios(unique=False), st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_plan(scenario: Scenario, rnd: random.Random) -> None:
    desired, cloud, owned, policy = scenario

    def shuffled(items: tuple[T, ...]) -> tuple[T, ...]:
        return tuple(rnd.sample(items, len(items)))

    reordered = replace(
        desired,
        objects={k: shuffled(v) for k, v in reversed(list(desired.objects.items()))},
        links={k: shuffled(v) for k, v in desired.links.items()},
    )
    cloud_reordered = replace(
        cloud,
        objects={k: shuffled(v) for k, v in reversed(list(cloud.objects.items()))},
        roles=shuffled(cloud.roles),
    )
    owned_reordered = dict(shuffled(tuple(owned.items())))
    assert plan(scenario) == plan((reordered, cloud_reordered, owned_reordered, policy))


@FAST
@given(scenarios())
def test_only_changed_fields_appear(scenario: Scenario) -> None:
    _, cloud, _, _ = scenario
    by_guid = {o.cwguid: o for objs in cloud.objects.values() for o in objs}
    for change in plan(scenario).changes:
        if change.action is not Action.UPDATE:
            continue
        kind = OBJECT_KINDS[change.kind]
        ci = {s.api_name for s in kind.fields if s.case_insensitive}
        if kind.key_case_insensitive:
            ci.add(kind.key_field)
        assert change.fields
        for name, field in change.fields.items():
            assert field.before == by_guid[change.remote_id or ""].fields.get(name)
            if name != kind.inactive_date_field:
                assert normalise(field.before, name in ci) != normalise(field.after, name in ci)


@settings(FAST, max_examples=150)
@given(scenarios())
def test_applying_the_plan_leaves_nothing_to_do(scenario: Scenario) -> None:
    desired, cloud, owned, policy = scenario
    first = plan(scenario)
    after, owned_after = apply_plan(first, cloud, owned, allow_deletes=True)
    second = build_plan(desired, after, owned_after, policy, firm="f", now=NOW)
    assert second.changes == ()
    assert second.blocked == ()
    # Rows stay invalid (the reason may change: a retired object can no longer be referred to).
    assert {(r.kind, r.key, r.row) for r in first.invalid} <= {
        (r.kind, r.key, r.row) for r in second.invalid
    }


@FAST
@given(scenarios())
def test_json_round_trip_is_lossless(scenario: Scenario) -> None:
    result = plan(scenario)
    assert plan_from_json(plan_to_json(result)) == result


@FAST
@given(scenarios())
def test_retirements_touch_only_owned_objects(scenario: Scenario) -> None:
    _, _, owned, policy = scenario
    assert isinstance(policy.threshold, RetireThreshold)
    owned_guids = {o.cwguid for o in owned.values()}
    result = plan(scenario)
    retiring = [c for c in result.changes if c.action in {Action.DEACTIVATE, Action.DELETE}]
    retiring += [
        b.change for b in result.blocked if b.change.action in {Action.DEACTIVATE, Action.DELETE}
    ]
    assert all(c.remote_id in owned_guids for c in retiring)
