"""Pure planning: desired state + Cloud state -> an ordered, guarded Plan. No I/O, no clock.

``build_plan(desired, cloud, owned, PlanPolicy.from_settings(settings.sync), firm=..., now=...)``
is the entry point; ``plan_to_json``/``plan_from_json`` save and load a plan (docs/architecture.md
section 8) and ``fingerprint(cloud)`` is what apply compares to refuse a stale saved plan.

Decisions worth knowing (each explained where it is made):

- Matching: id map (CWGuid) first, natural key second; the key field itself is compared, so an
  object renamed in Cloud is renamed back (objects.py).
- A row whose ``active`` is false and that does not exist yet is created inactive in one
  request (``Type: "I"``, users also today's ``InActiveDate``), not created then deactivated.
  Empty text values are not sent on create (empty and missing are the same to the API).
- Every row of a key listed twice is invalid (which one was meant cannot be decided); an invalid
  row still counts as listed, so its object is never retired.
- Retirement (mirror mode only): objects syncer owns that desired state no longer lists, only
  when the kind's source was read completely and is not empty. Deactivate entities and users
  (delete users with ``sync.delete_users``), delete groups. Already inactive is no change.
- Assignments are added in every mode and removed only in mirror mode, only for parents syncer
  owns, never for an object this plan deletes, never from an empty source.
- Past the threshold (more than ``count`` AND more than ``ratio`` of what syncer owns of the
  kind) every retirement of the kind moves to ``blocked``; ``apply --allow-deletes`` releases.
- ``skipped`` holds what the kind's mode or ``sync.protected`` held back; never applied.
- Additions to the section 8 JSON: ``carry`` per change (fields a PATCH must repeat, such as
  ``OwnerType``, and an assignment's ``member_id``), full changes in ``blocked``, a ``skipped``
  list, and extra summary counters (deactivate, add, remove, skipped).
"""

from syncer.plan.builder import build_plan
from syncer.plan.changes import (
    MEMBER_ID,
    PARENT_ID,
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
from syncer.plan.fingerprint import fingerprint
from syncer.plan.index import CloudIndex, guid_key
from syncer.plan.policy import PlanPolicy, RetireThreshold
from syncer.plan.serialise import PlanFileError, plan_from_json, plan_to_json

__all__ = [
    "MEMBER_ID",
    "PARENT_ID",
    "Action",
    "Blocked",
    "Change",
    "ChangeKey",
    "CloudIndex",
    "FieldChange",
    "Held",
    "KindSummary",
    "Plan",
    "PlanFileError",
    "PlanPolicy",
    "RetireThreshold",
    "Skipped",
    "build_plan",
    "fingerprint",
    "guid_key",
    "key_text",
    "plan_from_json",
    "plan_to_json",
]
