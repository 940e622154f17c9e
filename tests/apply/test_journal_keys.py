"""How the journal and the back-off index store a change's key: as the display text older
versions wrote (so their rows still match), escaped only where an end of an assignment holds a
``|``, so that no two changes ever share a journal row or a back-off entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.apply.backoff import BackoffIndex
from syncer.apply.journal import Entry, Journal
from syncer.apply.journal_keys import journal_id, stored_key
from syncer.apply.outcome import ChangeStatus, Outcome
from syncer.clock import ManualClock, utc_now
from syncer.model import LinkKey
from syncer.plan import Action, Change, key_text
from syncer.store.tables import changes

# Three readings of the display text "A|B|c|d@x.com", and one end with a backslash.
READINGS = (
    LinkKey("A|B", "c|d@x.com"),
    LinkKey("A", "B|c|d@x.com"),
    LinkKey("A|B|c", "d@x.com"),
)
SLASHED = (LinkKey("A\\", "|c@x.com"), LinkKey("A\\|", "c@x.com"))


def _add(link: LinkKey) -> Change:
    return Change.assignment("group_members", Action.ADD, link, "G", "U")


def test_ordinary_keys_are_stored_as_older_versions_stored_them() -> None:
    assert stored_key("C-1") == "C-1"
    assert stored_key("C-1|Business") == "C-1|Business"
    assert stored_key(LinkKey("Audit", "ann@x.com")) == "Audit|ann@x.com"
    assert journal_id(_add(LinkKey("Audit", "ann@x.com"))) == "group_members:add:Audit|ann@x.com"
    entity = Change("entities", Action.DEACTIVATE, "C-1", "E-1")
    assert journal_id(entity) == "entities:deactivate:C-1"


def test_keys_whose_ends_hold_a_bar_are_stored_apart() -> None:
    assert {key_text(link) for link in READINGS} == {"A|B|c|d@x.com"}
    assert stored_key(READINGS[0]) == "A\\|B|c\\|d@x.com"
    stored = [stored_key(link) for link in (*READINGS, *SLASHED)]
    assert len(set(stored)) == len(stored), stored
    # Without a bar in an end nothing is escaped, a backslash included (older rows match).
    assert stored_key(LinkKey("A\\", "B")) == "A\\|B"


@pytest.mark.anyio
async def test_one_display_text_two_journal_rows_and_back_off_entries(
    engine: AsyncEngine,
) -> None:
    """Of two assignments that read alike, the rejected one alone is held back."""
    clock = ManualClock()
    rejected, done = (_add(link) for link in READINGS[:2])
    journal = await Journal.begin(engine, "acme", "apply", None, clock)
    await journal.enter([Entry(rejected), Entry(done)])
    await journal.sent([rejected, done], None)
    await journal.settle(
        [(rejected, Outcome(ChangeStatus.REJECTED, "refused")), (done, Outcome(ChangeStatus.DONE))]
    )
    async with engine.connect() as conn:
        rows = dict((await conn.execute(select(changes.c.key, changes.c.status))).all())
    assert rows == {stored_key(rejected.key): "rejected", stored_key(done.key): "done"}

    index = await BackoffIndex.load(engine, "acme", utc_now(clock))
    assert index.deferral(rejected, None) is not None
    assert index.deferral(done, None) is None
    assert index.deferral(_add(READINGS[2]), None) is None
