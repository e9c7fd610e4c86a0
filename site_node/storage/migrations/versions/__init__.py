"""Alembic revisions (a package so it is installed)."""
