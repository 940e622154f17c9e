"""Persistence: desired-state tables, engine bookkeeping tables, database sessions; desired rows
are validated here (``validate``) as they are read or loaded.

The names below are the package's surface. The engine's own bookkeeping (``apply``, ``children``,
``queue``, ``metrics``, and ``demo``, which fills its own desired tables) reaches its tables and
transactions through ``store.db``, ``store.tables``, ``store.upsert`` and ``store.bulk``, and the
journal writes id-map entries through ``store.idmap`` in its own transactions: those are the
exception, shared by the code that owns those tables' rows (``tests/test_layout.py`` lists it).
Migrations (``store.schema``) are not on the surface either: importing the package must not load
Alembic, which only the commands that migrate or check the revision need."""

from syncer.store.advisory import AdvisoryLocks
from syncer.store.db import (
    DatabaseError,
    create_engine,
    database_errors,
    read_connection,
)
from syncer.store.desired import read_desired_state
from syncer.store.engines import JOURNAL_WRITES, SharedDatabase, SharedEngines, journal_writes
from syncer.store.idmap import read_id_map
from syncer.store.loader import LoadResult, load_csv
from syncer.store.validate import columns_of

__all__ = [
    "JOURNAL_WRITES",
    "AdvisoryLocks",
    "DatabaseError",
    "LoadResult",
    "SharedDatabase",
    "SharedEngines",
    "columns_of",
    "create_engine",
    "database_errors",
    "journal_writes",
    "load_csv",
    "read_connection",
    "read_desired_state",
    "read_id_map",
]
