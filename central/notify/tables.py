"""The notification tables, in their own MetaData, part of the business database
(:data:`central.business.schema.METADATA_MODULES`; migrations in ``central/business/migrations``)."""

from __future__ import annotations

import sqlalchemy as sa

from site_node.storage.models import NAMING_CONVENTION

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_number", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),  # sms | email
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("reference", sa.String(64)),  # e.g. the work order it is about
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending | sent | failed | suppressed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float),
    sa.Column("last_error", sa.String(300)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
    sa.Index("ix_notifications_due", "status", "next_attempt_at"),
    sa.Index("ix_notifications_customer", "customer_number"),
    sa.Index("ix_notifications_reference", "reference"),
)

outbox = sa.Table(
    "notify_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.Integer, sa.ForeignKey("notifications.id"), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
