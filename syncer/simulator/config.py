"""The simulator's knobs: limits, faults and the start-up configuration.

``Limits`` and ``Faults`` are pydantic models because the control plane receives them as JSON and
the OpenAPI description publishes their schema; a partial update is validated as a whole, so a bad
value never half-applies. Both are frozen: changing a knob swaps the whole object, which is what
lets the limits change while requests are in flight without any locking.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from syncer.clock import Clock, SystemClock
from syncer.simulator.dialect import Dialect
from syncer.simulator.knobs import Knobs


class Keying(StrEnum):
    """How buckets are keyed: Spring keys by route id and principal; the route split is unknown."""

    CLIENT = "client"
    """One bucket per API client (one gateway route for everything)."""
    SESSION = "session"
    """One bucket per session (the principal is the token, not the client)."""
    ROUTE = "route"
    """One bucket per resource family per API client (one gateway route per family)."""


class Limits(Knobs):
    """Spring's ``RedisRateLimiter`` settings plus the simulator's choices about keying."""

    replenish_rate: Annotated[int, Field(ge=0)] = 10
    burst_capacity: Annotated[int, Field(ge=0)] = 20
    requested_tokens: Annotated[int, Field(ge=1)] = 1
    keying: Keying = Keying.CLIENT
    auth_limited: bool = True
    fail_open_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Share of requests for which the limiter's store 'fails': allowed, remaining -1."""


class NeighbourPattern(StrEnum):
    """When in each second another program draws its tokens (real ones agree on no pattern)."""

    REFILL = "refill"
    """All at once, at each whole second (right after the refill)."""
    EVEN = "even"
    """One token at a time, evenly through each second."""
    POISSON = "poisson"
    """One token at a time, at Poisson arrivals (seeded)."""
    BURSTS = "bursts"
    """Twice the rate evenly through one second, nothing the next."""


class NoisyNeighbour(Knobs):
    """Another program using the same API client, drawing ``tokens_per_second`` on average."""

    client_id: str
    tokens_per_second: Annotated[int, Field(ge=1)]
    pattern: NeighbourPattern = NeighbourPattern.REFILL
    seed: int = 0
    route: str = "entities"
    """The family whose bucket it drains when buckets are keyed per route. Keyed per session,
    it has a session of its own and so drains only the client's ``auth/token`` bucket."""


class Faults(Knobs):
    """Seeded, deterministic trouble: the n-th request always meets the same fate."""

    seed: int = 0
    latency_seconds: Annotated[float, Field(ge=0)] = 0.0
    jitter_seconds: Annotated[float, Field(ge=0)] = 0.0
    error_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    drop_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    slow_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    slow_seconds: Annotated[float, Field(ge=0)] = 0.0
    after_write: bool = False
    """Apply errors and drops after the handler ran: the write happened, the client cannot tell."""
    noisy_neighbours: tuple[NoisyNeighbour, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """An API client registered with the firm."""

    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    read_only: bool = False


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator starts with; all of it can be changed later through the control plane.

    With no ``clients`` one client with a random id and secret is registered, so a simulator is
    always usable. ``seed`` makes CWGuids and fail-open draws reproducible.
    """

    firm: str = "demo"
    clients: tuple[ClientSpec, ...] = ()
    limits: Limits = field(default_factory=Limits)
    faults: Faults = field(default_factory=Faults)
    dialect: Dialect = field(default_factory=Dialect)
    token_lifetime_seconds: float = 1800.0
    seed: int = 0
    clock: Clock = field(default_factory=SystemClock)
