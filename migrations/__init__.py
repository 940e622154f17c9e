"""Alembic migrations of syncer's database, installed as the package ``syncer.migrations``."""
