"""Addresses in every report format: their summary line, each field's before and after, and
their invalid rows; the JSON plan carries them back unchanged (``apply --plan``)."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from syncer.plan import Plan, plan_from_json
from syncer.report import render
from tests.plan.factories import cloud, desired, entity, owns, plan, row
from tests.plan.test_children import KIND, address, child, having, wanting


def sample() -> Plan:
    acme = entity("C-1", guid="E-1")
    want = wanting(
        desired(entities=[row("C-1", name="Acme"), row("C-2", name="Beta")]),
        child("C-1", "Business", city="New town"),
        child("C-2", "Mailing", address1="PO Box 7"),
        child("C-9", "Business", line=3),
    )
    read = {"e-1": (address("E-1", "Business", "A-1", 1, City="Old town"),)}
    return plan(want, having(cloud(entities=[acme]), read), owns(("entities", acme)))


def test_addresses_appear_in_text_csv_html_and_json() -> None:
    result = sample()
    text = render(result, "text")
    assert isinstance(text, str)
    assert KIND in text
    for expected in ("C-1|Business", "Old town", "New town", "C-2|Mailing", "PO Box 7", "C-9"):
        assert expected in text

    table = render(result, "csv")
    assert isinstance(table, str)
    lines = list(csv.DictReader(io.StringIO(table)))
    assert {(line["kind"], line["key"]) for line in lines} >= {
        (KIND, "C-1|Business"),
        (KIND, "C-2|Mailing"),
    }

    page = render(result, "html")
    assert isinstance(page, str)
    assert "C-1|Business" in page
    assert "New town" in page

    data = render(result, "json")
    assert isinstance(data, bytes)
    doc: dict[str, Any] = orjson.loads(data)
    assert (doc["summary"][KIND]["create"], doc["summary"][KIND]["update"]) == (1, 1)
    assert doc["summary"][KIND]["invalid"] == 1
    assert plan_from_json(data) == result
