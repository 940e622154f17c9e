"""``Simulator``: the whole simulated firm and its control handle.

The HTTP app, the ``/_sim/`` control plane and in-process tests all act on one ``Simulator``:
clients and sessions, the objects, the limiter, the faults and the stats. Control methods are
plain synchronous calls, so a test can change the limits between two requests without HTTP.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Callable, Mapping
from typing import Any, Final

from syncer.simulator.auth import Session, Sessions
from syncer.simulator.config import (
    ClientSpec,
    Faults,
    Keying,
    Limits,
    NoisyNeighbour,
    SimulatorConfig,
)
from syncer.simulator.dialect import Dialect
from syncer.simulator.errors import invalid
from syncer.simulator.faults import Fate, FaultInjector
from syncer.simulator.limiter import Decision, NeighbourDrain, RateLimiter
from syncer.simulator.resources import SPECS, Violation, bind
from syncer.simulator.stats import Stats
from syncer.simulator.store import Obj, ResourceStore

RELATION_SEEDS: Final[Mapping[str, Callable[[ResourceStore, str, list[str], bool], Obj]]] = {
    "group_members": ResourceStore.assign_members,
    "user_roles": ResourceStore.assign_roles,
}
"""Seedable relations besides the object kinds: ``{"parent": guid, "members": [guid...]}``."""


class Simulator:
    injector: FaultInjector
    neighbours: dict[str, tuple[NoisyNeighbour, NeighbourDrain]]

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.clock = self.config.clock
        self.firm = self.config.firm
        self.limits = self.config.limits
        self.dialect = self.config.dialect
        self.sessions = Sessions(self.clock, self.config.token_lifetime_seconds)
        for spec in self.config.clients or (ClientSpec(),):
            self.register_client(spec)
        self.limiter = RateLimiter(self.clock, self.config.seed)
        self.store = ResourceStore(self.config.seed)
        self.stats = Stats()
        self.set_faults(self.config.faults)
        self._list_reads = itertools.count()

    # -- control ---------------------------------------------------------------------------

    def register_client(self, spec: ClientSpec | None = None) -> ClientSpec:
        """Register an API client (random id and secret unless given); returns its credentials."""
        spec = spec or ClientSpec()
        self.sessions.register(spec)
        return spec

    @property
    def clients(self) -> tuple[ClientSpec, ...]:
        """Registered clients with their current secrets, first registered first."""
        return self.sessions.specs()

    def reset_secret(self, client_id: str, new_secret: str | None = None) -> str:
        """Give the client a new secret (random unless given) and revoke all its sessions."""
        return self.sessions.reset_secret(client_id, new_secret)

    def set_limits(self, **changes: Any) -> Limits:
        """Change limits while running; buckets keep their tokens (capped by the new capacity)."""
        self.limits = self.limits.updated(changes)
        return self.limits

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults (or change some fields); reseeds the fault sequence."""
        base = faults or self.injector.faults
        self.injector = FaultInjector(base.updated(changes))
        self.neighbours = {
            n.client_id: (n, NeighbourDrain(n.tokens_per_second, self.clock, n.pattern, n.seed))
            for n in self.injector.faults.noisy_neighbours
        }
        return self.injector.faults

    def set_dialect(self, **changes: Any) -> Dialect:
        """Change how this firm differs from docs/cloud-api.md (page numbering, field names...)."""
        self.dialect = self.dialect.updated(changes)
        return self.dialect

    def set_token_lifetime(self, seconds: float) -> None:
        """Lifetime of sessions issued from now on; existing sessions keep their expiry."""
        if not seconds > 0:
            raise ValueError("token lifetime must be positive")
        self.sessions.lifetime_seconds = seconds

    def seed(self, kind: str, body: dict[str, Any]) -> Any:
        """Create an object syncer did not create, bypassing limits, faults and stats.

        ``kind`` is a resource (``entities``, ``users``, ``groups``, ``roles``, ``addresses`` with
        an ``OwnerCWGuid``) or a relation (``group_members``, ``user_roles``). Validation and
        uniqueness still apply; read-only fields such as ``FirmWideRoleIds`` may be set.
        """
        assign = RELATION_SEEDS.get(kind)
        if assign is not None:
            return assign(self.store, body["parent"], list(body["members"]), False)
        spec = SPECS.get(kind)
        if spec is None:
            known = ", ".join((*SPECS, *RELATION_SEEDS))
            raise invalid([Violation("kind", f"unknown kind {kind!r}; expected one of {known}")])
        values, errors = bind(spec, body, creating=True, seeding=True)
        if errors:
            raise invalid(errors)
        owner = None
        if kind == "addresses":
            owner = self.store.get(SPECS["entities"], str(body.get("OwnerCWGuid", "")))
        return self.store.create(spec, values, owner)

    def snapshot_stats(self) -> dict[str, Any]:
        neighbours = {
            client_id: {
                "allowed": drain.allowed,
                "denied": drain.denied,
                "taken_per_second": dict(drain.taken),
            }
            for client_id, (_, drain) in self.neighbours.items()
        }
        return {**self.stats.snapshot(), "neighbours": neighbours}

    def dump(self) -> dict[str, Any]:
        """Everything except secrets and tokens: objects, clients, buckets, limits, faults."""
        return {
            "firm": self.firm,
            "clients": self.sessions.summary(),
            "limits": self.limits.model_dump(mode="json"),
            "faults": self.injector.faults.model_dump(mode="json"),
            "dialect": self.dialect.model_dump(mode="json"),
            "token_lifetime_seconds": self.sessions.lifetime_seconds,
            "buckets": self.limiter.store.snapshot(),
            "objects": self.store.dump(),
        }

    def reset(self) -> None:
        """Back to a fresh firm: built-in roles only, no sessions, full buckets, zeroed stats.

        Clients, limits, faults and the dialect stay as they are (the fault sequence restarts).
        """
        self.store = ResourceStore(self.config.seed)
        self.sessions.clear_sessions()
        self.limiter = RateLimiter(self.clock, self.config.seed)
        self.stats = Stats()
        self.set_faults()

    # -- used by the gateway ---------------------------------------------------------------

    def bucket_key(self, family: str, principal: str, session: Session | None) -> str:
        """Spring's ``request_rate_limiter.{route.principal}`` under the configured keying."""
        match self.limits.keying:
            case Keying.CLIENT:
                route, who = "default", principal
            case Keying.SESSION:
                route, who = "default", session.session_id if session else principal
            case Keying.ROUTE:
                route, who = family, principal
        return f"request_rate_limiter.{{{route}.{who}}}"

    def admit(self, family: str, principal: str, session: Session | None) -> Decision | None:
        """The limiter's decision for one request; ``None`` when the route is not limited."""
        if family == "auth" and not self.limits.auth_limited:
            return None
        limits = self.limits
        for client_id, (neighbour, drain) in self.neighbours.items():
            key = self.bucket_key(neighbour.route, client_id, None)
            drain.catch_up(self.limiter.store, key, limits)
        decision = self.limiter.check(self.bucket_key(family, principal, session), limits)
        second = math.floor(self.clock.now())
        self.stats.limited(second, decision.allowed, decision.remaining == -1)
        return decision

    def list_order(self) -> random.Random | None:
        """How this list read orders its objects: ``None`` (by ``Id``) unless the dialect's lists
        keep no order, then a shuffle of its own per read (seeded: a run is repeatable)."""
        if self.dialect.stable_order:
            return None
        return random.Random(self.config.seed * 1_000_003 + next(self._list_reads))

    def fate(self) -> Fate:
        return self.injector.draw()

    def today(self) -> str:
        """The server's current date, for ``InActiveDate`` when a deactivation omits it."""
        return dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).date().isoformat()
