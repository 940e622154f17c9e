"""Issue 13, one row per fault: the real ``syncer`` command against a server that breaks the
API's promises ends with the documented exit code and one clear line, leaks no secret and writes
nothing it should not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from syncer.errors import ExitCode
from tests.apply.support import entity, fill
from tests.hostile.server import Behaviour, serve_hostile
from tests.hostile.support import assert_no_secret_stored, env_for, run_syncer, table_text

pytestmark = pytest.mark.anyio

B = Behaviour
E = ExitCode


@dataclass(frozen=True)
class Case:
    behaviour: Behaviour
    code: ExitCode
    says: str
    """A fragment of the one line syncer prints."""


READ_FAULTS = [
    Case(B.AUTH_401, E.CREDENTIALS_REJECTED, "cloud.client_id"),
    Case(B.AUTH_503, E.UNREACHABLE, "auth/token answered 503"),
    Case(B.AUTH_REDIRECT, E.CLOUD_CONTRACT, "never follows"),
    Case(B.LIST_REDIRECT, E.CLOUD_CONTRACT, "status 302"),
    Case(B.HTML_200, E.CLOUD_CONTRACT, "not JSON"),
    Case(B.OBJECT_NOT_ARRAY, E.CLOUD_CONTRACT, "expected a JSON array, got dict"),
    Case(B.ARRAY_OF_NON_OBJECTS, E.CLOUD_CONTRACT, "expected a JSON object, got int"),
    Case(B.TOKEN_MISSING, E.CLOUD_CONTRACT, "POST auth/token: Token is null"),
    Case(B.ROLE_IDS_NOT_INTS, E.CLOUD_CONTRACT, "FirmWideRoleIds is str"),
    Case(B.CWGUID_NULL, E.CLOUD_CONTRACT, "GET entities: CWGuid is null, expected a GUID"),
    Case(B.CWGUID_NOT_GUID, E.CLOUD_CONTRACT, "CWGuid is str, expected a GUID"),
    Case(B.SAME_PAGE_FOREVER, E.CLOUD_CONTRACT, "page 2 repeats page 1"),
    Case(B.THROTTLED_FOREVER, E.UNREACHABLE, "without a grant"),
    Case(B.HUGE_BODY, E.CLOUD_CONTRACT, "cloud.max_response_bytes"),
    Case(B.HUGE_STREAM, E.CLOUD_CONTRACT, "cloud.max_response_bytes"),
    Case(B.HUGE_GZIP, E.CLOUD_CONTRACT, "cloud.max_response_bytes"),
]
"""Faults met while reading Cloud: ``plan`` and ``apply`` end alike, and nothing is written."""

APPLY_TOO = {B.AUTH_401, B.AUTH_REDIRECT, B.CWGUID_NOT_GUID, B.THROTTLED_FOREVER}
"""Read faults also run through ``apply`` (the reading code is shared, and each run costs a
process start; these cover each ending: 77, 76 before and after a token, 69)."""


@pytest.fixture
async def url(migrated_sqlite_url: str) -> str:
    await fill(migrated_sqlite_url, {"entities": [entity(1)]})
    return migrated_sqlite_url


@pytest.mark.parametrize(
    ("case", "command"),
    [pytest.param(c, "plan", id=f"plan-{c.behaviour.name}") for c in READ_FAULTS]
    + [
        pytest.param(c, "apply", id=f"apply-{c.behaviour.name}")
        for c in READ_FAULTS
        if c.behaviour in APPLY_TOO
    ],
)
async def test_a_read_fault_ends_with_its_code_and_one_line(
    case: Case, command: str, url: str
) -> None:
    async with serve_hostile(case.behaviour) as server:
        outcome = await run_syncer(env_for(server, url), command)
    assert outcome.code == case.code, outcome.stderr
    outcome.assert_one_clear_line(case.says)
    outcome.assert_no_secret()
    assert_no_secret_stored(url)
    assert server.elsewhere == [], "the other origin got a request"
    assert server.writes == []
    assert server.reads < 20, "a fault must end the reading, not loop"
    tables = table_text(url)
    assert tables["syncer_id_map"] == tables["syncer_changes"] == tables["syncer_failed_keys"] == ""


async def test_an_error_body_echoing_the_secret_and_token_is_stored_masked(url: str) -> None:
    async with serve_hostile(B.ERROR_ECHOES_REQUEST) as server:
        outcome = await run_syncer(env_for(server, url), "apply")
    assert outcome.code == E.ROWS_REJECTED, outcome.stderr
    assert "Traceback" not in outcome.stderr
    outcome.assert_no_secret()
    assert_no_secret_stored(url)
    tables = table_text(url)
    assert "bad request: Authorization: Bearer ***" in tables["syncer_changes"]
    assert "ClientSecret=***" in tables["syncer_changes"]
    assert "ClientSecret=***" in tables["syncer_failed_keys"], "the deferred key's last error"


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [(B.RENEWAL_REFUSED, E.CREDENTIALS_REJECTED), (B.RENEWAL_FAILS, E.UNREACHABLE)],
)
async def test_a_failed_token_renewal_ends_the_run_and_blames_no_row(
    behaviour: Behaviour, code: ExitCode, url: str
) -> None:
    async with serve_hostile(behaviour) as server:
        outcome = await run_syncer(env_for(server, url), "apply")
    assert outcome.code == code, outcome.stderr
    outcome.assert_one_clear_line("auth/token answered")
    outcome.assert_no_secret()
    tables = table_text(url)
    assert tables["syncer_failed_keys"] == "", "nothing may be deferred"
    assert "rejected" not in tables["syncer_changes"]
    assert_no_secret_stored(url)
