"""Initial schema of the site-node database

Revision ID: 0001_initial
Revises: (none)
Create Date: 2026-11-24 00:28:51.204050
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'team_leader', 'manager', 'admin')", name=op.f("ck_agents_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index(op.f("ix_agents_site"), "agents", ["site"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)

    op.create_table(
        "call_events",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", "seq", name=op.f("pk_call_events")),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=40), nullable=True),
        sa.Column("requested_at", sa.Double(), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'dialling', 'done', 'failed', 'cancelled')",
            name=op.f("ck_callbacks_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    op.create_index("ix_callbacks_state_due_at", "callbacks", ["state", "due_at"], unique=False)

    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=True),
        sa.Column("skill", sa.String(length=40), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("dialled_number", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("flow_id", sa.String(length=64), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.Column("original_arrival_at", sa.Double(), nullable=True),
        sa.Column("arrival_at", sa.Double(), nullable=True),
        sa.Column("ivr_start_at", sa.Double(), nullable=True),
        sa.Column("ivr_end_at", sa.Double(), nullable=True),
        sa.Column("queued_at", sa.Double(), nullable=True),
        sa.Column("offered_at", sa.Double(), nullable=True),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("wrap_up_end_at", sa.Double(), nullable=True),
        sa.Column("hold_total_s", sa.Double(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("failovers", sa.Integer(), nullable=False),
        sa.Column("callback_requested", sa.Boolean(), nullable=False),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
    )
    op.create_index("ix_calls_site_arrival_at", "calls", ["site", "arrival_at"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment", sa.String(length=20), nullable=False),
        sa.Column("home_site", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=True),
        sa.CheckConstraint("segment IN ('retail', 'vip', 'business')", name=op.f("ck_customers_segment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("customer_number", name=op.f("uq_customers_customer_number")),
    )
    op.create_table(
        "ivr_flows",
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.Double(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("flow_id", "version", name=op.f("pk_ivr_flows")),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.Column("paused_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_call_id"), "recordings", ["call_id"], unique=False)

    op.create_table(
        "skills",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_skills")),
    )
    op.create_table(
        "stats_aggregates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("interval_start", sa.Double(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=True),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("kpis", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_aggregates")),
    )
    op.create_index(
        "ix_stats_aggregates_site_interval",
        "stats_aggregates",
        ["site", "interval_start"],
        unique=False,
    )

    op.create_table(
        "voicemail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=40), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("heard", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail")),
    )
    op.create_index(op.f("ix_voicemail_call_id"), "voicemail", ["call_id"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("masked_number", sa.String(length=32), nullable=False),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_accounts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("number_hash", name=op.f("uq_accounts_number_hash")),
    )
    op.create_index(op.f("ix_accounts_customer_id"), "accounts", ["customer_id"], unique=False)

    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("skill", sa.String(length=40), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 10", name=op.f("ck_agent_skills_level")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_skills_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill"],
            ["skills.name"],
            name=op.f("fk_agent_skills_skill_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "customer_phones",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "number", name=op.f("pk_customer_phones")),
    )
    op.create_index(op.f("ix_customer_phones_number"), "customer_phones", ["number"], unique=False)

    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("skill", sa.String(length=40), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("service_level_s", sa.Double(), nullable=False),
        sa.Column("max_wait_s", sa.Double(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=False),
        sa.Column("overflow_action", sa.String(length=20), nullable=False),
        sa.Column("overflow_target", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "overflow_action IN ('none', 'queue', 'voicemail', 'callback', 'disconnect')",
            name=op.f("ck_queues_overflow_action"),
        ),
        sa.CheckConstraint("min_level BETWEEN 1 AND 10", name=op.f("ck_queues_min_level")),
        sa.ForeignKeyConstraint(["skill"], ["skills.name"], name=op.f("fk_queues_skill_skills")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )


def downgrade() -> None:
    op.drop_table("queues")
    op.drop_table("customer_phones")
    op.drop_table("agent_skills")
    op.drop_table("accounts")
    op.drop_table("voicemail")
    op.drop_table("stats_aggregates")
    op.drop_table("skills")
    op.drop_table("recordings")
    op.drop_table("ivr_flows")
    op.drop_table("customers")
    op.drop_table("calls")
    op.drop_table("callbacks")
    op.drop_table("call_events")
    op.drop_table("audit_log")
    op.drop_table("agents")
