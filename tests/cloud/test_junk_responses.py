"""Whatever a server answers (any status, any headers, any body), every client operation either
returns a well-formed result or raises a ``SyncerError`` with an exit code; never anything else.

The client's whole request stack (limiter, session pool, retries, shape checks) runs on top of a
transport that replays generated responses, in virtual time, so a generated "429 for ever" or a
"full page for ever" ends quickly.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from syncer.clock import ManualClock
from syncer.cloud.client import CloudClient
from syncer.cloud.pipeline import ApiRequest, ApiResponse, ClientStats
from syncer.errors import ExitCode, SyncerError
from syncer.model import ENTITIES, ENTITY_ADDRESSES, GROUP_MEMBERS, USERS
from syncer.settings import CloudSettings
from syncer.state import RemoteObject

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SETTINGS = CloudSettings(
    firm="junk",
    client_id="junk-client",
    client_secret=SecretStr("junk-secret"),
    page_size=2,
    max_pages=5,
    max_retries=2,
    max_throttled_seconds=30,
)


GOOD_TOKEN = ApiResponse(200, {}, b'{"Token": "tok-good"}')


@dataclass
class Replay:
    """A transport answering every request with the next of ``responses``, round and round;
    ``auth/token`` too when ``junk_auth``, else it always grants a token (so that junk reaches the
    operation's own requests, not only the login)."""

    responses: list[ApiResponse]
    junk_auth: bool

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.responses)

    async def send(self, request: ApiRequest) -> ApiResponse:
        await anyio.lowlevel.checkpoint()
        if request.path == "auth/token" and not self.junk_auth:
            return GOOD_TOKEN
        return next(self._next)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
objects = st.fixed_dictionaries(
    {},
    optional={
        "CWGuid": st.sampled_from([GUID, None, "", "not-a-guid", 7]),
        "Id": st.sampled_from([1, None, "1", True]),
        "FirmWideRoleIds": st.sampled_from([[1, 2], None, ["a"], "x"]),
        "Token": st.sampled_from(["tok-abc", "", None, 5]),
        "AddressCategory": st.sampled_from(["Business", None, 5]),
    },
)
bodies = st.one_of(
    st.binary(max_size=40),
    json_values.map(orjson.dumps),
    st.lists(objects, max_size=3).map(orjson.dumps),
    objects.map(orjson.dumps),
    st.lists(st.sampled_from([GUID, 3, None]), max_size=3).map(orjson.dumps),
)
header_names = st.sampled_from(
    [
        "Retry-After",
        "X-RateLimit-Remaining",
        "X-RateLimit-Replenish-Rate",
        "X-RateLimit-Burst-Capacity",
        "X-RateLimit-Requested-Tokens",
        "Location",
        "Content-Type",
    ]
)
header_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["-1", "0", "1e309", "nan", "inf", "-5", "3.5", "99999999999"]),
)
responses = st.builds(
    ApiResponse,
    status=st.one_of(
        st.sampled_from([200, 201, 204, 301, 401, 404, 429, 500]), st.integers(0, 999)
    ),
    headers=st.dictionaries(header_names, header_values, max_size=3),
    body=bodies,
)

Operation = Callable[[CloudClient], Awaitable[object]]
OPERATIONS: dict[str, Operation] = {
    "list entities": lambda c: c.list_objects(ENTITIES),
    "list users": lambda c: c.list_objects(USERS),
    "list roles": lambda c: c.list_roles(),
    "get": lambda c: c.get(ENTITIES, GUID),
    "create": lambda c: c.create(ENTITIES, {"EntityNo": "E-1"}),
    "delete": lambda c: c.delete(USERS, GUID),
    "members": lambda c: c.list_members(GROUP_MEMBERS, GUID),
    "find": lambda c: c.find_by_key(ENTITIES, "E-1"),
    "list addresses": lambda c: c.list_children(ENTITY_ADDRESSES, GUID),
    "create address": lambda c: c.create_child(ENTITY_ADDRESSES, GUID, {"City": "X"}),
    "update address": lambda c: c.update_child(ENTITY_ADDRESSES, GUID, {"City": "X"}),
}


def _well_formed(result: object) -> bool:
    if isinstance(result, RemoteObject) or result is None:
        return True
    if isinstance(result, int):  # an address create's Id
        return not isinstance(result, bool)
    return isinstance(result, list) and all(isinstance(i, (RemoteObject, str)) for i in result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answers=st.lists(responses, min_size=1, max_size=4),
    name=st.sampled_from(list(OPERATIONS)),
    junk_auth=st.booleans(),
)
@example(  # a model whose credits could never cover a request once waited for them for ever
    answers=[
        ApiResponse(429, {}, b""),
        ApiResponse(429, {"X-RateLimit-Replenish-Rate": "3.5", "X-RateLimit-Remaining": "0"}, b""),
    ],
    name="create address",
    junk_auth=False,
)
@example(  # Retry-After: 0 on a 429 resent at once: a loop that never let the clock move
    answers=[ApiResponse(429, {"X-RateLimit-Remaining": "-1", "Retry-After": "0"}, b"")],
    name="list entities",
    junk_auth=True,
)
def test_every_junk_answer_ends_in_a_result_or_a_syncer_error(
    answers: list[ApiResponse], name: str, junk_auth: bool
) -> None:
    async def attempt() -> object:
        transport = Replay(answers, junk_auth)
        client = CloudClient.over(transport, SETTINGS, ClientStats(), clock=ManualClock())
        with anyio.fail_after(10):
            try:
                return await OPERATIONS[name](client)
            except SyncerError as exc:
                return exc

    outcome = anyio.run(attempt)
    if isinstance(outcome, SyncerError):
        assert isinstance(outcome.exit_code, ExitCode)
        assert outcome.exit_code != ExitCode.OK
        assert "junk-secret" not in str(outcome)
    else:
        assert _well_formed(outcome)
