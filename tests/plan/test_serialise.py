"""Plan JSON per docs/architecture.md §8, and refusal of files apply cannot trust."""

from __future__ import annotations

import orjson
import pytest

from syncer.errors import ExitCode
from syncer.plan import PlanFileError, PlanPolicy, plan_from_json, plan_to_json
from syncer.settings import SyncMode
from tests.plan.factories import cloud, desired, entity, owns, plan, row, user


def sample() -> bytes:
    users = [user(f"u{i}@x.com") for i in range(30)]
    policy = PlanPolicy(modes={"users": SyncMode.MIRROR})
    want = desired(
        users=[row("u0@x.com", first_name="Ann"), row("bad", 9, owner_type="Robot")],
        entities=[row("C-1", name="Acme")],
    )
    have = cloud(users=users, entities=[entity("C-1", name="Old")])
    return plan_to_json(plan(want, have, owns(*(("users", u) for u in users)), policy))


def test_json_has_the_contract_keys() -> None:
    doc = orjson.loads(sample())
    assert doc["format_version"] == 1
    assert doc["firm"] == "acme"
    assert doc["created_at"] == "2026-03-01T12:00:00+00:00"
    assert len(doc["fingerprint"]) == 64
    for counts in doc["summary"].values():
        assert {"create", "update", "delete", "noop", "invalid", "blocked"} <= counts.keys()
    update = next(c for c in doc["changes"] if c["kind"] == "entities")
    assert update == {
        "kind": "entities",
        "action": "update",
        "key": "C-1",
        "remote_id": "E-C-1",
        "fields": {"Name": {"before": "Old", "after": "Acme"}},
        "carry": {"OwnerType": "Client"},
    }
    assert {"kind", "key", "reason"} <= doc["blocked"][0].keys()
    assert doc["invalid"][0] == {
        "kind": "users",
        "key": "bad",
        "row": 9,
        "reason": "owner_type must be one of Staff, Contact, got 'Robot'",
    }


def test_round_trip() -> None:
    data = sample()
    assert plan_to_json(plan_from_json(data)) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format_version": 2}', "format_version 2; this syncer reads 1"),
        (b'{"format_version": 1, "firm": "f"}', "malformed"),
    ],
)
def test_unreadable_plan_files_are_usage_errors(data: bytes, message: str) -> None:
    with pytest.raises(PlanFileError, match=message) as caught:
        plan_from_json(data)
    assert caught.value.exit_code is ExitCode.USAGE
