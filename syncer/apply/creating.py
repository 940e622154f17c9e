"""A create that may have landed is never sent blindly again.

When a POST's outcome is unknown (the connection broke after sending), the object is looked up
first: found, it was created; not found, the create is sent again, at most
``MAX_CREATE_ATTEMPTS`` times. A 409 means the object already exists: it is looked up and adopted.
Objects and children (addresses) share this rule; only how each is created, found and adopted
differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.cloud import Conflict, OutcomeUnknown
from syncer.state import Origin, RemoteObject

MAX_CREATE_ATTEMPTS = 3
"""Sends of one create whose outcome stayed unknown and that a lookup did not find."""

Answer = TypeVar("Answer")


async def create_once(
    create: Callable[[], Awaitable[Answer]],
    look_up: Callable[[], Awaitable[RemoteObject | None]],
    created: Callable[[Answer], Awaitable[Outcome]],
    adopt: Callable[[RemoteObject], Awaitable[Outcome]],
    *,
    found_by: str,
) -> Outcome:
    """Create through ``create``; settle an unknown outcome or a 409 through ``look_up``.
    ``found_by`` names the lookup in the message of a create that was never settled."""
    for _ in range(MAX_CREATE_ATTEMPTS):
        try:
            answer = await create()
        except OutcomeUnknown:
            found = await look_up()
            if found is not None:
                return Outcome(
                    ChangeStatus.DONE,
                    "confirmed by lookup after an unknown outcome",
                    found,
                    Origin.CREATED,
                )
            continue
        except Conflict as exc:
            found = await look_up()
            if found is None:
                return Outcome(ChangeStatus.REJECTED, exc.message)
            return await adopt(found)
        return await created(answer)
    return Outcome(
        ChangeStatus.FAILED,
        f"outcome unknown {MAX_CREATE_ATTEMPTS} times and not found by {found_by}; planned again",
    )
