"""The search language: parsing alone, then over HTTP with quotes, escapes and types."""

from __future__ import annotations

import pytest

from syncer.simulator.resources import ENTITIES, USERS
from syncer.simulator.search import Condition, SearchError, parse_search
from tests.simulator.conftest import Api


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name='Acme'", Condition("Name", "=", "Acme")),
        ("Name = 'O''Brien'", Condition("Name", "=", "O'Brien")),
        ("  name<>'x y'  ", Condition("Name", "<>", "x y")),
        ("Id > 3", Condition("Id", ">", 3)),
        ("Id<-1", Condition("Id", "<", -1)),
        ("Name = ''", Condition("Name", "=", "")),
        ("Name = ''''", Condition("Name", "=", "'")),
    ],
)
def test_parses(text: str, expected: Condition) -> None:
    assert parse_search(text, ENTITIES) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Name",
        "Name = Acme",  # strings must be quoted
        "Name = 'unterminated",
        "Name = 'a'b'",  # a lone quote inside
        "Name == 'x'",
        "Name = 'a' AND Id = 1",  # one condition only
        "Colour = 'blue'",  # unknown field
        "FirmWideRoleIds = 1",  # not a scalar
        "Id = '3'",  # a number is bare
        "Id = 1.5",
        "Admin = 'true'",
        "Admin > true",
        "InActiveDate = 2024-01-01",  # dates are quoted
        "InActiveDate = 'tomorrow'",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(SearchError):
        parse_search(text, USERS)


def test_typed_values() -> None:
    assert parse_search("Admin = TRUE", USERS).value is True
    assert parse_search("InActiveDate > '2024-01-31'", USERS).value == "2024-01-31"


@pytest.mark.anyio
async def test_search_over_http(api: Api) -> None:
    sim = api.running.control
    for no, name, kind in [
        ("C-1", "O'Brien & Sons", "A"),
        ("C-2", "o'brien & sons", "I"),
        ("C-3", "Acme", "A"),
    ]:
        sim.seed("entities", {"EntityNo": no, "Name": name, "Type": kind})
    sim.seed("users", {"Email": "a@x.com", "OwnerType": "Staff", "InActiveDate": "2024-05-01"})
    sim.seed("users", {"Email": "b@x.com", "OwnerType": "Staff", "Admin": True})

    async def found(path: str, search: str) -> list[object]:
        reply = await api.call("GET", path, params={"search": search})
        assert reply.status == 200, reply.raw
        return [o.get("EntityNo") or o.get("Email") for o in reply.json]

    assert await found("entities", "Name = 'O''BRIEN & SONS'") == ["C-1", "C-2"]
    assert await found("entities", "Name<>'acme'") == ["C-1", "C-2"]
    assert await found("entities", "Type = 'I'") == ["C-2"]
    assert await found("entities", "EntityNo > 'C-1'") == ["C-2", "C-3"]
    assert await found("users", "Admin = true") == ["b@x.com"]
    assert await found("users", "InActiveDate < '2025-01-01'") == ["a@x.com"]
    assert await found("users", "Email = 'nobody@x.com'") == []
    for bad in ("Colour = 'x'", "Name = x", "Name = 'a' or 1=1"):
        reply = await api.call("GET", "entities", params={"search": bad})
        assert reply.status == 400
        assert reply.json["errors"][0]["field"] == "search"
