"""Persistence: desired-state tables, engine bookkeeping tables, database sessions; desired rows
are validated here (``validate``) as they are read or loaded."""

from syncer.store.db import create_engine, database_errors, upgrade
from syncer.store.desired import read_desired_state
from syncer.store.idmap import read_id_map

__all__ = ["create_engine", "database_errors", "read_desired_state", "read_id_map", "upgrade"]
