"""The registry of the business schema: each feature folder's module exposing ``metadata``.

Alembic's environment (``migrations/env.py``) compares against all of them; a feature adds its
tables by appending its module here and adding a migration file (``migrations/versions``).
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

METADATA_MODULES: list[str] = ["central.crm.models", "central.workorders.tables", "central.notify.tables",
                               "central.campaigns.models", "central.knowledge.models",
                               "central.events.tables", "central.sop.models", "central.qa.models"]  # fmt: skip


def hand_made(name: str | None) -> bool:
    """What the migrations make by hand, left out of autogenerate and of the drift check: the
    name-search index of the CRM and the knowledge index (SQLite FTS5 tables and their shadow
    tables, PostgreSQL trigram indexes)."""
    return (name or "").startswith(HAND_MADE_PREFIXES) or name in HAND_MADE_INDEXES


HAND_MADE_PREFIXES = ("crm_name_fts", "kb_fts")
HAND_MADE_INDEXES = ("ix_crm_customers_search_trgm", "ix_kb_versions_search_trgm")


def metadatas() -> list[MetaData]:
    """The ``metadata`` of every registered module, in registry order."""
    return [importlib.import_module(name).metadata for name in METADATA_MODULES]
