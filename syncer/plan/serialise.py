"""Plan <-> JSON exactly per docs/architecture.md §8 (``format_version`` 1).

``plan --format json --out FILE`` writes it and ``apply --plan FILE`` reads it back, so the JSON
carries everything apply needs: besides the section 8 keys, blocked entries keep their whole
change (apply releases them with ``--allow-deletes``), every change keeps ``carry``,
``skipped`` lists what the mode or protection held back, and ``adopt`` the existing objects apply
records as syncer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, TypeVar

import orjson

from syncer.errors import SyncerError, UsageError
from syncer.model import ALL_KINDS, RELATION_KINDS, LinkKey
from syncer.plan.changes import (
    FORMAT_VERSION,
    Action,
    Blocked,
    Change,
    ChangeKey,
    FieldChange,
    Held,
    KindSummary,
    Plan,
    Skipped,
    key_text,
)
from syncer.plan.legacy_links import Entry, LegacyLinks
from syncer.state import InvalidRow, Origin, Ownership

_SUMMARY_FIELDS = tuple(f.name for f in fields(KindSummary))


H = TypeVar("H", bound=Held)


class PlanFileError(UsageError):
    """A saved plan that cannot be read: not JSON, another format version, a missing key."""


class PlanEntryError(SyncerError):
    """A readable plan file with an entry no syncer writes (an unknown kind or action): an edited
    file, refused whole before anything is carried out (exit 1)."""


_ACTIONS = frozenset(action.value for action in Action)


def plan_to_json(plan: Plan) -> bytes:
    return orjson.dumps(plan_to_dict(plan), option=orjson.OPT_INDENT_2, default=str)


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "firm": plan.firm,
        "created_at": plan.created_at.isoformat(),
        "fingerprint": plan.fingerprint,
        "summary": {kind: asdict(counts) for kind, counts in plan.summary.items()},
        "changes": [change_to_dict(change) for change in plan.changes],
        "blocked": [_held_to_dict(held) for held in plan.blocked],
        "invalid": [
            {"kind": row.kind, "key": row.key, "row": row.row, "reason": row.reason}
            for row in plan.invalid
        ],
        "skipped": [_held_to_dict(held) for held in plan.skipped],
        "adopt": [
            {"kind": own.kind, "key": own.key, "remote_id": own.cwguid, "id": own.id}
            for own in plan.adoptions
        ],
    }


def change_to_dict(change: Change) -> dict[str, Any]:
    """``key`` is the display text; an assignment's ends are also written apart (``link``) when
    that text cannot be cut in one way, so the plans of ordinary names are what they always were."""
    key = change.key
    doc = {
        "kind": change.kind,
        "action": change.action.value,
        "key": key_text(key),
        "remote_id": change.remote_id,
        "fields": {
            name: {"before": fc.before, "after": fc.after} for name, fc in change.fields.items()
        },
        "carry": dict(change.carry),
    }
    if isinstance(key, LinkKey) and key.text_is_ambiguous:
        doc["link"] = key._asdict()
    return doc


def _held_to_dict(held: Held) -> dict[str, Any]:
    return {**change_to_dict(held.change), "reason": held.reason}


def plan_from_json(data: bytes) -> Plan:
    """Read a plan written by ``plan_to_json``; a problem raises ``PlanFileError`` (exit 64)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PlanFileError(f"plan file is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PlanFileError("plan file is not a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFileError(
            f"plan file has format_version {version!r}; this syncer reads {FORMAT_VERSION}"
        )
    _check_entries(doc)
    try:
        links = LegacyLinks.of(
            entry for section in ("changes", "blocked", "skipped") for entry in doc.get(section, ())
        )
        return Plan(
            firm=doc["firm"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            fingerprint=doc["fingerprint"],
            changes=tuple(change_from_dict(c, links) for c in doc["changes"]),
            blocked=tuple(_held_from_dict(Blocked, b, links) for b in doc["blocked"]),
            invalid=tuple(
                InvalidRow(r["kind"], r["key"], r["reason"], r.get("row")) for r in doc["invalid"]
            ),
            summary={kind: _summary(counts) for kind, counts in doc["summary"].items()},
            skipped=tuple(_held_from_dict(Skipped, s, links) for s in doc.get("skipped", ())),
            adoptions=tuple(
                Ownership(a["kind"], a["key"], a["remote_id"], a.get("id"), Origin.ADOPTED)
                for a in doc.get("adopt", ())
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"plan file is malformed: {type(exc).__name__} {exc}") from None


def _check_entries(doc: Mapping[str, Any]) -> None:
    for section in ("changes", "blocked", "skipped"):
        entries = doc.get(section)
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if not isinstance(entry, Mapping):
                continue  # malformed: reported as such when the plan is built
            kind, action = entry.get("kind"), entry.get("action")
            if kind not in ALL_KINDS or action not in _ACTIONS:
                raise PlanEntryError(
                    f"plan file entry {section}[{index}] (kind {kind!r}, action {action!r}, "
                    f"key {entry.get('key')!r}) names an unknown kind or action"
                )


def change_from_dict(doc: Entry, links: LegacyLinks) -> Change:
    """A change as written; an assignment's ends come from ``link``, or are cut out of its
    display key (``links``: one ``|`` cuts one way, several as the whole file suggests)."""
    return Change(
        kind=doc["kind"],
        action=Action(doc["action"]),
        key=_key(doc, links),
        remote_id=doc.get("remote_id"),
        fields={
            name: FieldChange(value["before"], value["after"])
            for name, value in doc.get("fields", {}).items()
        },
        carry=dict(doc.get("carry", {})),
    )


def _key(doc: Entry, links: LegacyLinks) -> ChangeKey:
    if doc["kind"] not in RELATION_KINDS:
        key: str = doc["key"]
        return key
    if "link" in doc:
        return LinkKey(doc["link"]["parent"], doc["link"]["member"])
    return links.cut(doc)


def _held_from_dict(cls: type[H], doc: Entry, links: LegacyLinks) -> H:
    return cls(change_from_dict(doc, links), doc["reason"])


def _summary(counts: Mapping[str, int]) -> KindSummary:
    return KindSummary(**{name: int(counts.get(name, 0)) for name in _SUMMARY_FIELDS})
