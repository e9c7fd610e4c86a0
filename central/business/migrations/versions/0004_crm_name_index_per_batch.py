"""CRM: the SQLite name-search index (FTS5) is written by the CRM store once per batch, not by a
trigger per inserted or renamed row (imports); the delete trigger stays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = {
    "crm_customers_fts_ai": "AFTER INSERT ON crm_customers BEGIN "
    "INSERT INTO crm_name_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
    "crm_customers_fts_au": "AFTER UPDATE OF search_key ON crm_customers BEGIN "
    "INSERT INTO crm_name_fts(crm_name_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key); "
    "INSERT INTO crm_name_fts(rowid, search_key) VALUES (new.id, new.search_key); END",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, body in _TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
