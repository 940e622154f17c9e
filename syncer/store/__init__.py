"""Persistence: desired-state tables, engine bookkeeping tables, database sessions."""
