"""The demo firm's client addresses: a business address for every client, a mailing address for
some, and a client that moves between the demo's two plans.

Generated from their own seeded ``random.Random`` so that adding them changed nothing else the
demo generates (names, numbers and titles stay as they were for the same seed).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Final

from syncer.model import ENTITY_ADDRESSES

Row = Mapping[str, object]

_STREETS: Final = (
    "King St W", "Queen St E", "Bay St", "Main St", "Harbour Rd", "Mill Lane", "Church St",
    "Station Rd", "Victoria Ave", "Park Blvd", "Water St", "Front St", "High St", "Elm Ave",
)  # fmt: skip
_CITIES: Final = {
    "CA": (("Toronto", "Canada"), ("Ottawa", "Canada"), ("Halifax", "Canada")),
    "US": (("Boston", "United States"), ("Portland", "United States")),
    "GB": (("Leeds", "United Kingdom"),),
    "AU": (("Perth", "Australia"),),
    "IE": (("Cork", "Ireland"),),
}
MOVED_CLIENT: Final = 7
"""The client (1-based) whose business address the demo's second plan changes."""


def _row(entity_no: object, category: str, **values: object) -> Row:
    """Every column present: the demo inserts each kind's rows in one statement."""
    blank = dict.fromkeys(spec.column for spec in ENTITY_ADDRESSES.fields)
    return {"entity_no": entity_no, "category": category, **blank, **values}


def client_addresses(entities: Sequence[Row], seed: int) -> tuple[Row, ...]:
    rng = random.Random(f"{seed}-addresses")
    rows: list[Row] = []
    for client in entities:
        city, country = rng.choice(_CITIES.get(str(client["country_code"]), _CITIES["CA"]))
        street = f"{rng.randint(1, 999)} {rng.choice(_STREETS)}"
        rows.append(
            _row(client["entity_no"], "Business", address1=street, city=city, country=country)
        )
        if rng.random() < 0.3:
            box = f"PO Box {rng.randint(100, 9999)}"
            rows.append(
                _row(client["entity_no"], "Mailing", address1=box, city=city, country=country)
            )
    return tuple(rows)


def move_one(addresses: Sequence[Row], entities: Sequence[Row]) -> tuple[list[Row], str, str]:
    """The addresses with one client's business address moved; (rows, key, description)."""
    entity_no = entities[MOVED_CLIENT - 1]["entity_no"]
    rows = list(addresses)
    index = next(
        i
        for i, row in enumerate(rows)
        if (row["entity_no"], row["category"]) == (entity_no, "Business")
    )
    rows[index] = {**rows[index], "address1": "1 Harbourfront Plaza", "address2": "Suite 400"}
    return rows, f"{entity_no}|Business", "moved to 1 Harbourfront Plaza, Suite 400"
