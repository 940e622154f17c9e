"""Bearer tokens: one ``auth/token`` exchange of the client id and secret for a session token.

Any failure of that exchange ends the run (77 refused, 69 not serving): no row is ever blamed for
it. Each token is remembered by ``syncer.masking`` the moment it is issued.
"""

from __future__ import annotations

from syncer import masking
from syncer.cloud.answers import decode_response
from syncer.cloud.pipeline import (
    ApiRequest,
    ApiResponse,
    ClientStats,
    Sender,
)
from syncer.cloud.shapes import (
    TOKEN_RULES,
    checked_object,
    field_of,
)
from syncer.errors import CloudUnreachable, CredentialsRejected
from syncer.settings import CloudSettings

AUTH_PATH = "auth/token"


class TokenIssuer:
    """Fetches bearer tokens with the client id and secret (one ``auth/token`` call each)."""

    def __init__(self, sender: Sender, settings: CloudSettings, stats: ClientStats) -> None:
        self._sender = sender
        self._settings = settings
        self._stats = stats

    def __repr__(self) -> str:
        return f"TokenIssuer(client_id={self._settings.client_id!r})"

    async def __call__(self) -> str:
        token, _ = await self.issue()
        return token

    async def issue(self) -> tuple[str, ApiResponse]:
        """A new session's token and the answer that carried it (``syncer probe`` reads that)."""
        self._stats.auth_calls += 1
        credentials = {
            "ClientId": self._settings.client_id,
            "ClientSecret": self._settings.client_secret.get_secret_value(),
            "Language": "en",
        }
        request = ApiRequest("POST", AUTH_PATH, json=credentials, retry_safe=True)
        response = await self._sender.send(request)
        refuse_failed_auth(response.status)
        decoded = decode_response("POST", AUTH_PATH, response)
        body = checked_object(f"POST {AUTH_PATH}", decoded, TOKEN_RULES)
        token: str = field_of(body, "Token")
        masking.remember(token)
        return token, response


def refuse_failed_auth(status: int) -> None:
    """Any 4xx from ``auth/token`` refuses the client (77); a 5xx or 429 that outlived the retries
    means Cloud is not serving (69). Either ends the run: a row is never blamed for it."""
    if 400 <= status < 500 and status != 429:
        raise CredentialsRejected(
            f"Cloud refused the API client's credentials ({AUTH_PATH} answered {status}); "
            "check cloud.client_id and the client secret"
        )
    if status >= 500 or status == 429:
        raise CloudUnreachable(f"Cloud is not serving: {AUTH_PATH} answered {status}")
