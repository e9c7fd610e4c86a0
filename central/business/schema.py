"""The registry of the business schema: each feature folder's module exposing ``metadata``.

Alembic's environment (``migrations/env.py``) compares against all of them, so work orders and
notifications add their tables by appending their module here and adding migration files.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

METADATA_MODULES: list[str] = ["central.crm.models", "central.campaigns.models"]


def metadatas() -> list[MetaData]:
    """The ``metadata`` of every registered module, in registry order."""
    return [importlib.import_module(name).metadata for name in METADATA_MODULES]
