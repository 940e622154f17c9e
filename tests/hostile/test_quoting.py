"""Every path segment is quoted: a CWGuid (or anything passed as one) cannot address another
route, whatever it holds."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from syncer.cloud.client import CloudClient
from syncer.cloud.errors import Rejected
from syncer.model import ENTITY_ADDRESSES, GROUP_MEMBERS, USERS
from syncer.settings import CloudSettings
from tests.hostile.server import CLIENT_ID, FIRM, SECRET, Behaviour, serve_hostile

pytestmark = pytest.mark.anyio

HOSTILE_ID = "../entities?page=1#x"


async def test_a_segment_cannot_reach_another_path() -> None:
    async with serve_hostile(Behaviour.WELL_BEHAVED) as server:
        settings = CloudSettings(
            firm=FIRM,
            base_url=server.base_url,
            client_id=CLIENT_ID,
            client_secret=SecretStr(SECRET),
        )
        async with CloudClient.open(settings) as client:
            with pytest.raises(Rejected):
                await client.delete(USERS, HOSTILE_ID)
            assert await client.list_members(GROUP_MEMBERS, HOSTILE_ID) == []
    quoted = "..%2Fentities%3Fpage=1%23x"  # "=" may stand in a segment; "/", "?", "#" may not
    assert server.raw_paths[-2].endswith(f"/users/{quoted}")
    assert server.raw_paths[-1].startswith(
        f"/{FIRM}/ms/caseware-cloud/api/v2/groups/{quoted}/user-assignments?"
    )


async def test_an_address_path_segment_cannot_reach_another_path() -> None:
    """The address endpoints (a parent's list and create, an address's update) quote too."""
    async with serve_hostile(Behaviour.WELL_BEHAVED) as server:
        settings = CloudSettings(
            firm=FIRM,
            base_url=server.base_url,
            client_id=CLIENT_ID,
            client_secret=SecretStr(SECRET),
        )
        async with CloudClient.open(settings) as client:
            assert await client.list_children(ENTITY_ADDRESSES, HOSTILE_ID) == []
            with pytest.raises(Rejected):
                await client.create_child(ENTITY_ADDRESSES, HOSTILE_ID, {"City": "X"})
            with pytest.raises(Rejected):
                await client.update_child(ENTITY_ADDRESSES, HOSTILE_ID, {"City": "X"})
    quoted = "..%2Fentities%3Fpage=1%23x"
    root = f"/{FIRM}/ms/caseware-cloud/api/v2"
    assert server.raw_paths[-3].startswith(f"{root}/entities/{quoted}/addresses?")
    assert server.raw_paths[-2] == f"{root}/entities/{quoted}/addresses"
    assert server.raw_paths[-1] == f"{root}/entities/addresses/{quoted}"
