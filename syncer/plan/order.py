"""The order changes are carried out in: build up in dependency order, tear down in reverse.

Objects are created and updated first (an assignment needs both ends), then assignments are
added, then removed, and last objects are deactivated or deleted, dependants before what they
depend on. Ties are broken by key (``key_order``), so the same inputs always give the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from syncer.model import ALL_KINDS, OBJECT_KINDS, RELATION_KINDS
from syncer.plan.changes import Action, Change, ChangeKey

PHASES: Final[Mapping[Action, int]] = {
    Action.CREATE: 0,
    Action.UPDATE: 0,
    Action.ADD: 1,
    Action.REMOVE: 2,
    Action.DEACTIVATE: 3,
    Action.DELETE: 3,
}
TEARDOWN: Final = frozenset({2, 3})
"""Phases that run in reverse dependency order."""


def dependency_order(kinds: Iterable[str] = ALL_KINDS) -> tuple[str, ...]:
    """Kinds so that each comes after what it depends on; ties keep the model's order."""
    pending = list(kinds)
    deps = {name: set(_depends_on(name)) & set(pending) for name in pending}
    placed: list[str] = []
    while pending:
        ready = next((k for k in pending if deps[k] <= set(placed)), None)
        if ready is None:
            raise ValueError(f"dependency cycle among kinds {', '.join(pending)}")
        placed.append(ready)
        pending.remove(ready)
    return tuple(placed)


def _depends_on(name: str) -> tuple[str, ...]:
    kind = OBJECT_KINDS.get(name) or RELATION_KINDS.get(name)
    return () if kind is None else kind.depends_on


RANK: Final[Mapping[str, int]] = {name: i for i, name in enumerate(dependency_order())}


def sort_key(change: Change) -> tuple[int, int, str | tuple[str, str], str, str]:
    """Phase, dependency rank, then key, action and CWGuid (the action is a ``StrEnum``: it
    sorts by its value without the slower ``.value`` lookup, once per change of a big plan).
    Phase and rank tell the kind, so keys of one type only are ever compared."""
    action = change.action
    phase = PHASES[action]
    rank = RANK.get(change.kind, len(RANK))
    return (
        phase,
        -rank if phase in TEARDOWN else rank,
        key_order(change.key),
        action,
        change.remote_id or "",
    )


def key_order(key: ChangeKey) -> str | tuple[str, str]:
    """Where a key sorts among its kind's. An assignment sorts by its parent followed by the
    separator, then its member: the order its display text ``"<parent>|<member>"`` always gave
    (``Group 10`` before ``Group 1``), so plans read as they did, without the text's ties
    between two assignments whose ends hold ``|``."""
    return key if isinstance(key, str) else (key.parent + "|", key.member)


def ordered(changes: Iterable[Change]) -> tuple[Change, ...]:
    return tuple(sorted(changes, key=sort_key))
