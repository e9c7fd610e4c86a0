"""The registry of the business schema: each feature folder's module exposing ``metadata``.

Alembic's environment (``migrations/env.py``) compares against all of them; a feature adds its
tables by appending its module here and adding a migration file (``migrations/versions``).
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

METADATA_MODULES: list[str] = ["central.crm.models", "central.workorders.tables", "central.notify.tables",
                               "central.campaigns.models"]  # fmt: skip


def metadatas() -> list[MetaData]:
    """The ``metadata`` of every registered module, in registry order."""
    return [importlib.import_module(name).metadata for name in METADATA_MODULES]
