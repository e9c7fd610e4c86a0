"""Customers' telephone-banking PIN, stored as an scrypt hash only

Revision ID: 0002_customer_pin
Revises: 0001_initial
Create Date: 2026-11-25 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_customer_pin"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a default: existing customers keep every value and have no PIN yet.
    op.add_column("customers", sa.Column("pin_hash", sa.String(length=256), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): no table copy, so the rows
    # referencing customers (ON DELETE CASCADE) are untouched.
    op.drop_column("customers", "pin_hash")
