"""Pure planning: desired state + Cloud state -> an ordered, guarded Plan. No I/O, no clock."""

from syncer.plan.builder import build_plan
from syncer.plan.fingerprint import fingerprint
from syncer.plan.model import Action, Blocked, Change, FieldChange, KindSummary, Plan
from syncer.plan.policy import PlanPolicy, RetireThreshold
from syncer.plan.serialise import PlanFileError, plan_from_json, plan_to_json

__all__ = [
    "Action",
    "Blocked",
    "Change",
    "FieldChange",
    "KindSummary",
    "Plan",
    "PlanFileError",
    "PlanPolicy",
    "RetireThreshold",
    "build_plan",
    "fingerprint",
    "plan_from_json",
    "plan_to_json",
]
