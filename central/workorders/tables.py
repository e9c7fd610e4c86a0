"""The work-order tables, in their own MetaData, part of the business database
(:data:`central.business.schema.METADATA_MODULES`; migrations in ``central/business/migrations``)."""

from __future__ import annotations

import sqlalchemy as sa

from site_node.storage.models import NAMING_CONVENTION

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

departments = sa.Table(
    "wo_departments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("escalate_to", sa.String(100)),  # overrides the SLA policy's target
    sa.Column("created_at", sa.Float, nullable=False),
)

department_members = sa.Table(
    "wo_department_members",
    metadata,
    sa.Column("department_id", sa.String(64), sa.ForeignKey("wo_departments.id"), primary_key=True),
    sa.Column("member", sa.String(64), primary_key=True),
)

work_orders = sa.Table(
    "work_orders",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("priority", sa.String(10), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("department_id", sa.String(64), sa.ForeignKey("wo_departments.id"), nullable=False),
    sa.Column("assignee", sa.String(64)),
    sa.Column("customer_number", sa.String(64)),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("language", sa.String(8), nullable=False, default="en"),
    # how the customer asked to hear about this order, and whether they agreed to (closed loop)
    sa.Column("contact_phone", sa.String(32)),
    sa.Column("contact_email", sa.String(254)),
    sa.Column("contact_consent", sa.Boolean, nullable=False, default=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("response_due", sa.Float, nullable=False),
    sa.Column("resolution_due", sa.Float, nullable=False),
    sa.Column("escalate_to", sa.String(100), nullable=False),
    sa.Column("responded_at", sa.Float),
    sa.Column("resolved_at", sa.Float),
    sa.Column("closed_at", sa.Float),
    sa.Column("escalated_response_at", sa.Float),
    sa.Column("escalated_resolution_at", sa.Float),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Index("ix_work_orders_department_status", "department_id", "status"),
    sa.Index("ix_work_orders_assignee", "assignee"),
    sa.Index("ix_work_orders_customer", "customer_number"),
    sa.Index("ix_work_orders_open_due", "status", "resolution_due"),
)

call_links = sa.Table(
    "wo_call_links",
    metadata,
    sa.Column("order_id", sa.String(40), sa.ForeignKey("work_orders.id"), primary_key=True),
    sa.Column("call_id", sa.String(64), primary_key=True),
    sa.Index("ix_wo_call_links_call", "call_id"),
)

status_history = sa.Table(
    "wo_status_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("work_orders.id"), nullable=False, index=True),
    sa.Column("from_status", sa.String(24)),
    sa.Column("to_status", sa.String(24), nullable=False),
    sa.Column("event", sa.String(24), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
)

comments = sa.Table(
    "wo_comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("work_orders.id"), nullable=False, index=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

attachments = sa.Table(
    "wo_attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("work_orders.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

escalations = sa.Table(
    "wo_escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("work_orders.id"), nullable=False, index=True),
    sa.Column("deadline", sa.String(16), nullable=False),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("target", sa.String(100), nullable=False),
    sa.Column("breached", sa.Boolean, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
