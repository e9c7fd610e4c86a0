"""Fixtures of the statistics tests: a real PostgreSQL for the asyncpg path."""

from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401
