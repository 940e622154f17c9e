"""API clients and their sessions: ``auth/token`` issues opaque tokens with an absolute lifetime.

Each authentication opens a new session and leaves the earlier ones valid; resetting a client's
secret revokes every session of that client. Secrets and tokens never appear in a repr or a dump:
the dump lists clients by id with a count of live sessions.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from syncer.clock import Clock
from syncer.simulator.config import ClientSpec


@dataclass(slots=True)
class ApiClient:
    client_id: str
    secret: str = field(repr=False)
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    client_id: str
    expires_at: float


class Sessions:
    def __init__(self, clock: Clock, lifetime_seconds: float) -> None:
        self._clock = clock
        self.lifetime_seconds = lifetime_seconds
        self._clients: dict[str, ApiClient] = {}
        self._sessions: dict[str, Session] = {}
        self._issued = 0

    def register(self, spec: ClientSpec) -> ClientSpec:
        """Add (or replace) an API client; replacing one revokes its sessions like a reset."""
        self.revoke(spec.client_id)
        self._clients[spec.client_id] = ApiClient(
            spec.client_id, spec.client_secret, spec.read_only
        )
        return spec

    def client(self, client_id: str) -> ApiClient | None:
        return self._clients.get(client_id)

    def specs(self) -> tuple[ClientSpec, ...]:
        """Every client with its current secret, in registration order."""
        return tuple(ClientSpec(c.client_id, c.secret, c.read_only) for c in self._clients.values())

    def reset_secret(self, client_id: str, new_secret: str | None = None) -> str:
        client = self._clients[client_id]
        client.secret = new_secret or secrets.token_urlsafe(24)
        self.revoke(client_id)
        return client.secret

    def revoke(self, client_id: str) -> None:
        self._sessions = {t: s for t, s in self._sessions.items() if s.client_id != client_id}

    def issue(self, client_id: str, secret: str) -> str | None:
        """A new token, or ``None`` when the id is unknown or the secret wrong."""
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        self._issued += 1
        token = secrets.token_urlsafe(32)
        expires_at = self._clock.now() + self.lifetime_seconds
        self._sessions[token] = Session(f"s{self._issued}", client_id, expires_at)
        return token

    def resolve(self, token: str) -> Session | None:
        """The live session behind ``token``; expired sessions are forgotten on sight."""
        session = self._sessions.get(token)
        if session is not None and session.expires_at <= self._clock.now():
            del self._sessions[token]
            return None
        return session

    def clear_sessions(self) -> None:
        self._sessions.clear()

    def summary(self) -> list[dict[str, object]]:
        now = self._clock.now()
        return [
            {
                "client_id": c.client_id,
                "read_only": c.read_only,
                "live_sessions": sum(
                    1
                    for s in self._sessions.values()
                    if s.client_id == c.client_id and s.expires_at > now
                ),
            }
            for c in self._clients.values()
        ]
