"""Dispositions: a call's wrap-up code and notes, and what the IVR collected and did

Revision ID: 0004_dispositions
Revises: 0003_cdr_resumed_from
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dispositions"
down_revision: str | None = "0003_cdr_resumed_from"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispositions",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("collected", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_dispositions")),
    )
    op.create_index(op.f("ix_dispositions_customer_id"), "dispositions", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dispositions_customer_id"), table_name="dispositions")
    op.drop_table("dispositions")
