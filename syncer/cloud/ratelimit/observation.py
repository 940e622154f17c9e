"""One response as a bucket's model remembers it (``RecentAnswers``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter


@dataclass(frozen=True, slots=True)
class Observation:
    """One response as the model remembers it."""

    sent: float
    recv: float
    remaining: float
    answered: float
    """The bucket's cumulative cost of grants answered by ``recv``: every grant beyond it may be
    processed by the server after this one."""
    cost: float = 0.0
    granted_before: float = math.inf
    """The grant's place in the bucket's order (see ``Grant``): unknown, after every other."""
    leg: float = 0.0
    """Seconds the request surely spent on its way to the server (a share of the shortest round
    trip seen): the server handled it within ``[sent + leg, recv]``. The way back is not
    shortened: a server may spend its latency before its limiter (the simulator does), and
    then answers the moment it has decided."""
    handled_from: float = field(init=False)
    """``sent + leg``: the earliest the server can have handled it (asked of most recent answers
    at every answer, so worked out once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "handled_from", self.sent + self.leg)

    @property
    def handled_by(self) -> float:
        return self.recv


RECEIVED = attrgetter("recv")
"""An observation's ``recv``: the key ``RecentAnswers`` is ordered by."""
