"""How the probe reads a token's lifetime: a stated ``ExpiresIn``, or a JWT's ``exp - iat``."""

from __future__ import annotations

import base64

import orjson
import pytest

from syncer.probe.auth import advertised_lifetime


def jwt(claims: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


@pytest.mark.parametrize(
    ("body", "token", "lifetime"),
    [
        ({"Token": "opaque"}, "opaque", None),
        ({"Token": "t", "ExpiresIn": 900}, "t", 900.0),
        ({"token": "t", "expires_in": 600}, "t", 600.0),
        ({"Token": "t", "ExpiresIn": True}, "t", None),
        (None, jwt({"iat": 1_700_000_000, "exp": 1_700_003_600}), 3600.0),
        (None, jwt({"exp": 1_700_003_600}), None),
        (None, jwt(["not", "claims"]), None),
        (None, "a.b!!.c", None),
    ],
)
def test_a_lifetime_is_read_only_where_the_firm_states_it(
    body: object, token: str, lifetime: float | None
) -> None:
    assert advertised_lifetime(body, token) == lifetime
