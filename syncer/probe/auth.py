"""``auth.token`` and ``ratelimit.auth_limited``: what a token answer looks like and costs.

The token itself is never shown: only its length and whether it is a JWT. Its lifetime is known
only when the firm says it (an ``ExpiresIn``-like field, or a JWT's ``exp - iat``); the API
does not say it (docs/cloud-api.md §1), and syncer then counts
``cloud.api.token_lifetime_seconds`` itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import orjson

from syncer.cloud.shapes import field_of
from syncer.probe.report import Check, differs, holds
from syncer.probe.wire import Answer
from syncer.settings import CloudSettings

EXPIRY_FIELDS = ("ExpiresIn", "expires_in", "Expires_In", "TokenLifetime")
"""Names a token answer might state its lifetime (seconds) under."""


def check_token(answer: Answer, token: str, cloud: CloudSettings) -> Check:
    lifetime = advertised_lifetime(answer.json(), token)
    shape = "JWT" if _jwt_claims(token) is not None else "opaque"
    carries = "with" if answer.rate.remaining is not None else "without"
    stated = f"states a lifetime of {lifetime:g} s" if lifetime else "states no lifetime"
    observed = (
        f"{answer.status}, a {len(token)}-character {shape} token; the answer {stated}, "
        f"{carries} rate-limit headers"
    )
    configured = cloud.api.token_lifetime_seconds
    expected = f"200 with a Token; no stated lifetime (syncer counts {configured:g} s)"
    if lifetime is not None and lifetime != configured:
        return differs("auth.token", expected, observed, api__token_lifetime_seconds=lifetime)
    return holds("auth.token", expected, observed)


def check_auth_limited(answer: Answer, cloud: CloudSettings) -> Check:
    expected_limited = cloud.api.auth_limited
    limited = answer.rate.remaining is not None
    expected = f"{str(expected_limited).lower()} (auth/token answers carry x-ratelimit-* headers)"
    observed = str(limited).lower()
    if limited != expected_limited:
        return differs("ratelimit.auth_limited", expected, observed, api__auth_limited=limited)
    return holds("ratelimit.auth_limited", expected, observed)


def advertised_lifetime(body: Any, token: str) -> float | None:
    """Seconds a token lives, if the answer or the token itself says so."""
    if isinstance(body, Mapping):
        for name in EXPIRY_FIELDS:
            value = field_of(body, name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return float(value)
    claims = _jwt_claims(token)
    if claims is not None:
        issued, expires = claims.get("iat"), claims.get("exp")
        if isinstance(issued, int | float) and isinstance(expires, int | float):
            return float(expires - issued) if expires > issued else None
    return None


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The (unverified) claims of a JWT; ``None`` for any other token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None
