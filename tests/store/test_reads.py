"""Reads on PostgreSQL: a plan's statements each run on their own, in no transaction."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from syncer.simulator import RunningSimulator
from syncer.store.schema import upgrade
from syncer.usecases import plan_firm
from tests.apply.support import clients_with_addresses, fill, settings_for

pytestmark = pytest.mark.anyio


async def test_a_plan_opens_no_transaction_on_postgresql(
    simulator: RunningSimulator, postgres_url: str
) -> None:
    """psycopg opens a transaction with a ``BEGIN`` of its own before a connection's first
    statement, and the connection's return to the pool ends it with a ``ROLLBACK``: two round
    trips more for each of a plan's reads (desired state, catalogue, id map, children's
    marks), and a ``ROLLBACK`` drops the statements psycopg prepared. After every statement a
    plan sends, the connection is in no transaction."""
    await upgrade(postgres_url)
    await fill(postgres_url, clients_with_addresses(2))
    states: list[TransactionStatus] = []

    def after(conn: Connection, *_: object) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        states.append(driver.info.transaction_status)

    event.listen(Engine, "after_cursor_execute", after)
    try:
        snapshot = await plan_firm(settings_for(simulator, postgres_url))
    finally:
        event.remove(Engine, "after_cursor_execute", after)
    kinds = {change.kind for change in snapshot.plan.changes}
    assert {"entities", "entity_addresses"} <= kinds  # the children's marks were read too
    assert len(states) >= 9  # catalogue, six desired kinds, id map, marks
    assert set(states) == {TransactionStatus.IDLE}
