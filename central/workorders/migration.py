"""The Alembic migration body of the work-order and notification tables, as a plain module.

The business database's migrations call these from a revision (``def upgrade(): upgrade(op)``).
Frozen like any migration: a later change to ``tables.py`` gets a new revision, not an edit
here (``tests/workorders/test_migration.py`` checks both agree).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

revision = "workorders_0001"
down_revision = None


def upgrade(op: Any) -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_number", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_customer", "notifications", ["customer_number"], unique=False)
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_notifications_reference", "notifications", ["reference"], unique=False)
    op.create_table(
        "wo_departments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("escalate_to", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "wo_department_members",
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["wo_departments.id"],
        ),
        sa.PrimaryKeyConstraint("department_id", "member"),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("customer_number", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_consent", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("response_due", sa.Float(), nullable=False),
        sa.Column("resolution_due", sa.Float(), nullable=False),
        sa.Column("escalate_to", sa.String(length=100), nullable=False),
        sa.Column("responded_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("escalated_response_at", sa.Float(), nullable=True),
        sa.Column("escalated_resolution_at", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["wo_departments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_orders_assignee", "work_orders", ["assignee"], unique=False)
    op.create_index("ix_work_orders_customer", "work_orders", ["customer_number"], unique=False)
    op.create_index("ix_work_orders_department_status", "work_orders", ["department_id", "status"], unique=False)
    op.create_index("ix_work_orders_open_due", "work_orders", ["status", "resolution_due"], unique=False)
    op.create_table(
        "wo_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_wo_attachments_order_id"), "wo_attachments", ["order_id"], unique=False)
    op.create_table(
        "wo_call_links",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_id", "call_id"),
    )
    op.create_index("ix_wo_call_links_call", "wo_call_links", ["call_id"], unique=False)
    op.create_table(
        "wo_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_wo_comments_order_id"), "wo_comments", ["order_id"], unique=False)
    op.create_table(
        "wo_escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("deadline", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_wo_escalations_order_id"), "wo_escalations", ["order_id"], unique=False)
    op.create_table(
        "wo_status_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_wo_status_history_order_id"), "wo_status_history", ["order_id"], unique=False)


def downgrade(op: Any) -> None:
    op.drop_index(op.f("ix_wo_status_history_order_id"), table_name="wo_status_history")
    op.drop_table("wo_status_history")
    op.drop_index(op.f("ix_wo_escalations_order_id"), table_name="wo_escalations")
    op.drop_table("wo_escalations")
    op.drop_index(op.f("ix_wo_comments_order_id"), table_name="wo_comments")
    op.drop_table("wo_comments")
    op.drop_index("ix_wo_call_links_call", table_name="wo_call_links")
    op.drop_table("wo_call_links")
    op.drop_index(op.f("ix_wo_attachments_order_id"), table_name="wo_attachments")
    op.drop_table("wo_attachments")
    op.drop_index("ix_work_orders_open_due", table_name="work_orders")
    op.drop_index("ix_work_orders_department_status", table_name="work_orders")
    op.drop_index("ix_work_orders_customer", table_name="work_orders")
    op.drop_index("ix_work_orders_assignee", table_name="work_orders")
    op.drop_table("work_orders")
    op.drop_table("wo_department_members")
    op.drop_table("notify_outbox")
    op.drop_table("wo_departments")
    op.drop_index("ix_notifications_reference", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_index("ix_notifications_customer", table_name="notifications")
    op.drop_table("notifications")
