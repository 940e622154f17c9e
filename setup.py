"""Packaging glue that pyproject.toml cannot express: ship top-level ``migrations/``.

The Alembic scripts live in ``migrations/`` at the top of the repository (where developers look
for them) and are installed as the package ``syncer.migrations`` so that ``syncer db upgrade``
finds them from any directory. pyproject.toml's package discovery cannot combine ``find`` with a
directory mapped from elsewhere, so the package list is built here; all other metadata stays in
pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["syncer", "syncer.*"]),
        "syncer.migrations",
        "syncer.migrations.versions",
    ],
    package_dir={"syncer.migrations": "migrations"},
)
