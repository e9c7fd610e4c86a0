"""The event tables, in their own MetaData, part of the business database
(:data:`central.business.schema.METADATA_MODULES`; migration ``0006``).

``ev_events.seq`` is the stream offset (SSE ``id``, ``?after=``); ``ev_events.event_id`` is the
idempotency key, unique: every replica records what it sees and the second insert is ignored.
``ev_subscriptions.delivered_seq`` is how far a webhook has been acknowledged (durable, so a
dead endpoint's backlog lives in the database, not in memory)."""

from __future__ import annotations

import sqlalchemy as sa

from site_node.storage.models import NAMING_CONVENTION

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

events = sa.Table(
    "ev_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(160), nullable=False, unique=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("site", sa.String(64)),
    sa.Column("queue", sa.String(64)),
    sa.Column("call_id", sa.String(64), index=True),
    sa.Column("data", sa.JSON, nullable=False),
)

subscriptions = sa.Table(
    "ev_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("types", sa.JSON, nullable=False),  # [] = every type; "call.*" a family
    sa.Column("sites", sa.JSON, nullable=False),
    sa.Column("queues", sa.JSON, nullable=False),
    sa.Column("delivered_seq", sa.Integer, nullable=False, default=0),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
