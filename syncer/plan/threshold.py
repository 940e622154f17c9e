"""The retirement threshold: too many deactivations, deletes or removals at once are held back.

A source that lost half its rows (a broken export, a wrong view) would otherwise retire half the
firm. Past the threshold every retirement of the kind is blocked, with a reason that says what
would have happened and how to release it; apply releases them only with ``--allow-deletes``.
"""

from __future__ import annotations

from typing import Final

from syncer.plan.changes import Action, Blocked, Change
from syncer.plan.outcome import KindOutcome
from syncer.plan.policy import RetireThreshold

VERBS: Final[dict[Action, str]] = {
    Action.DEACTIVATE: "deactivate",
    Action.DELETE: "delete",
    Action.REMOVE: "remove",
}


def guard_retirements(
    out: KindOutcome, threshold: RetireThreshold
) -> tuple[list[Change], list[Blocked]]:
    """Split a kind's retirements into those that may go ahead and those that are blocked."""
    retiring = len(out.retirements)
    if not threshold.exceeded(retiring, out.owned):
        return list(out.retirements), []
    reason = blocked_reason(out, threshold)
    return [], [Blocked(change, reason) for change in out.retirements]


def blocked_reason(out: KindOutcome, threshold: RetireThreshold) -> str:
    verbs = sorted({VERBS[change.action] for change in out.retirements})
    retiring = len(out.retirements)
    share = f"{round(100 * retiring / out.owned)} %" if out.owned else "all"
    return (
        f"would {' or '.join(verbs)} {retiring} of {out.owned} {out.kind} syncer owns "
        f"({share}); threshold is {threshold.describe()}; "
        "rerun apply with --allow-deletes to release"
    )
