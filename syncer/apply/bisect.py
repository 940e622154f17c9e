"""A refused assignment batch is bisected, so one bad member no longer sinks the good ones.

The API takes a whole list of members in one PATCH and refuses the whole list (400) when one of
them is wrong, say a CWGuid that no longer exists. Sending each half again, and halving only the
halves still refused, isolates the bad members in about ``2 * bad * log2(batch)`` extra requests
instead of one request per member; the good ones are applied and each bad one is rejected alone
with the API's own message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from syncer.apply.outcome import ChangeStatus, Outcome

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome; ``divisible`` when a member (not the parent) may be at fault."""

    outcome: Outcome
    divisible: bool = False


Send = Callable[[Sequence[T]], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class Bisection(Generic[T]):
    """Each item's outcome, in the order given, and the requests it took."""

    outcomes: tuple[tuple[T, Outcome], ...]
    requests: int

    @property
    def extra_requests(self) -> int:
        return self.requests - 1


async def send_bisected(items: Sequence[T], send: Send[T]) -> Bisection[T]:
    """Send ``items`` as one batch; while a batch of several is refused for a member, send its
    halves. Any other outcome (done, failed, unknown, a gone parent) holds for the whole batch."""
    answer = await send(items)
    if len(items) < 2 or not (answer.divisible and answer.outcome.status is ChangeStatus.REJECTED):
        return Bisection(tuple((item, answer.outcome) for item in items), 1)
    middle = len(items) // 2
    first = await send_bisected(items[:middle], send)
    second = await send_bisected(items[middle:], send)
    return Bisection(first.outcomes + second.outcomes, 1 + first.requests + second.requests)
