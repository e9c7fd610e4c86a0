"""Alembic environment and revisions of the site-node schema (a package so it is installed)."""
