"""The event stream for integrations (issue 23, D4): the event log ``ev_events`` (``seq`` the
stream offset, ``event_id`` the unique idempotency key) and the webhook subscriptions
``ev_subscriptions`` (filters, signing secret, acknowledged offset).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:57:47.935929
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ev_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=160), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ev_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ev_events_event_id")),
    )
    with op.batch_alter_table("ev_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ev_events_call_id"), ["call_id"], unique=False)

    op.create_table(
        "ev_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("delivered_seq", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ev_subscriptions")),
    )


def downgrade() -> None:
    op.drop_table("ev_subscriptions")
    with op.batch_alter_table("ev_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ev_events_call_id"))

    op.drop_table("ev_events")
