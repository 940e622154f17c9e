"""The retirement threshold: too many deactivations, deletes or removals at once are held back.

A source that lost half its rows (a broken export, a wrong view) would otherwise retire half the
firm. Past the threshold every retirement of the kind is blocked, with a reason that says what
would have happened and how to release it; apply releases them only with ``--allow-deletes``.

A blocked retirement holds back the removals of its assignments too: they have the same cause (the
object left desired state), so a user whose deactivation is blocked keeps its groups and roles,
even when those removals alone are under their own kind's threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from syncer.model import RELATION_KINDS
from syncer.plan.changes import MEMBER_ID, Action, Blocked, Change, key_text
from syncer.plan.index import guid_key
from syncer.plan.outcome import KindOutcome
from syncer.plan.policy import RetireThreshold

VERBS: Final[dict[Action, str]] = {
    Action.DEACTIVATE: "deactivate",
    Action.DELETE: "delete",
    Action.REMOVE: "remove",
}
NOUNS: Final[dict[Action, str]] = {
    Action.DEACTIVATE: "deactivation",
    Action.DELETE: "deletion",
    Action.REMOVE: "removal",
}
RELEASE: Final = "rerun apply with --allow-deletes to release"

BlockedEnds = Mapping[tuple[str, str], Change]
"""Blocked retirements of objects by (kind, lower-cased CWGuid)."""


def guard_retirements(
    out: KindOutcome, threshold: RetireThreshold, blocked_ends: BlockedEnds
) -> tuple[list[Change], list[Blocked]]:
    """Split a kind's retirements into those that may go ahead and those that are blocked.

    The threshold counts every retirement of the kind, those held back with a blocked end too,
    so holding them back never lets the rest slip under it.
    """
    exceeded = threshold.exceeded(len(out.retirements), out.owned)
    reason = blocked_reason(out, threshold) if exceeded else ""
    allowed: list[Change] = []
    blocked: list[Blocked] = []
    for change in out.retirements:
        end = blocked_end(change, blocked_ends)
        if end is not None:
            blocked.append(Blocked(change, held_with_reason(end)))
        elif exceeded:
            blocked.append(Blocked(change, reason))
        else:
            allowed.append(change)
    return allowed, blocked


def blocked_end(change: Change, blocked_ends: BlockedEnds) -> Change | None:
    """The blocked retirement of either end of an assignment removal, if there is one."""
    relation = RELATION_KINDS.get(change.kind)
    if relation is None or not blocked_ends:
        return None
    ends = ((relation.parent_kind, change.remote_id), (relation.member_kind, _member_id(change)))
    for kind, cwguid in ends:
        if cwguid is not None and (found := blocked_ends.get((kind, guid_key(cwguid)))):
            return found
    return None


def blocked_ends_of(blocked: Iterable[Blocked]) -> dict[tuple[str, str], Change]:
    """Index blocked object retirements by (kind, lower-cased CWGuid) for ``guard_retirements``."""
    return {
        (held.change.kind, guid_key(held.change.remote_id)): held.change
        for held in blocked
        if held.change.remote_id is not None and held.change.kind not in RELATION_KINDS
    }


def held_with_reason(end: Change) -> str:
    return (
        f"held back with the blocked {NOUNS[end.action]} of {end.kind} {key_text(end.key)!r} "
        f"(same cause); {RELEASE}"
    )


def blocked_reason(out: KindOutcome, threshold: RetireThreshold) -> str:
    verbs = sorted({VERBS[change.action] for change in out.retirements})
    retiring = len(out.retirements)
    share = f"{round(100 * retiring / out.owned)} %" if out.owned else "all"
    return (
        f"would {' or '.join(verbs)} {retiring} of {out.owned} {out.kind} syncer owns "
        f"({share}); threshold is {threshold.describe()}; {RELEASE}"
    )


def _member_id(change: Change) -> str | None:
    member = change.carry.get(MEMBER_ID)
    return member if isinstance(member, str) else None
