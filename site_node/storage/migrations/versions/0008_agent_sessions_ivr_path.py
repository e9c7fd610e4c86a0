"""Agent state sessions (not-ready time by reason) and the IVR path of a call in its CDR

Revision ID: 0008_agent_sessions_ivr_path
Revises: 0007_recording_legal_hold
Create Date: 2026-12-03 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_agent_sessions_ivr_path"
down_revision: str | None = "0007_recording_legal_hold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_sessions")),
    )
    op.create_index("ix_agent_sessions_site_started_at", "agent_sessions", ["site", "started_at"])
    with op.batch_alter_table("calls") as batch:  # calls before this revision have no known path
        batch.add_column(sa.Column("ivr_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("ivr_path")
    op.drop_index("ix_agent_sessions_site_started_at", table_name="agent_sessions")
    op.drop_table("agent_sessions")
