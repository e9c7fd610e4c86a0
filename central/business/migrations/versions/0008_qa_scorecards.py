"""QA scorecards (issue 19): versioned forms and evaluations of recorded calls

To renumber after another feature's 0008: change ``revision`` / ``down_revision`` (and the file
name); nothing else refers to this number.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qa_forms",
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("form_id", "version", name=op.f("pk_qa_forms")),
    )
    op.create_table(
        "qa_evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=40), nullable=True),
        sa.Column("evaluator", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("auto_failed", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="submitted", nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
    )
    for column in ("call_id", "agent_id", "created_at"):
        op.create_index(op.f(f"ix_qa_evaluations_{column}"), "qa_evaluations", [column], unique=False)


def downgrade() -> None:
    for column in ("created_at", "agent_id", "call_id"):
        op.drop_index(op.f(f"ix_qa_evaluations_{column}"), table_name="qa_evaluations")
    op.drop_table("qa_evaluations")
    op.drop_table("qa_forms")
