"""SQLAlchemy 2 models of a site node's database (one SQLite file per site, or PostgreSQL).

Times are epoch seconds stored as double precision (``DOUBLE`` has REAL affinity on SQLite;
``DOUBLE PRECISION`` on PostgreSQL, whose 4-byte ``REAL`` would round epoch seconds to minutes).
Account numbers exist only masked (``**** **** 1234``) and as a keyed hash; PINs and passwords
never reach a table in clear (customers' PINs and agents' passwords are stored as scrypt hashes,
and no view or record carries them).

The Alembic revisions, applied in order, create exactly this schema; a test compares the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cluster.roles import ROLES

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

AGENT_ROLES = ROLES  # who may be an agent row: the roles of cluster.roles
SEGMENTS = ("retail", "vip", "business")
OVERFLOW_ACTIONS = ("none", "queue", "voicemail", "callback", "disconnect")
CALLBACK_STATES = ("pending", "dialling", "done", "failed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, float: Double}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(20), default="retail")
    home_site: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[float | None]
    pin_hash: Mapped[str | None] = mapped_column(String(256))  # scrypt; NULL: no PIN set

    __table_args__ = (CheckConstraint(_in("segment", SEGMENTS), name="segment"),)


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="mobile")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    masked_number: Mapped[str] = mapped_column(String(32))
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (CheckConstraint(_in("role", AGENT_ROLES), name="role"),)


class Skill(Base):
    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(ForeignKey("skills.name", ondelete="CASCADE"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 10", name="level"),)


class Queue(Base):
    __tablename__ = "queues"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    skill: Mapped[str] = mapped_column(ForeignKey("skills.name"))
    min_level: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    service_level_s: Mapped[float] = mapped_column(default=20.0)
    max_wait_s: Mapped[float] = mapped_column(default=300.0)
    max_length: Mapped[int] = mapped_column(Integer, default=50)
    overflow_action: Mapped[str] = mapped_column(String(20), default="none")
    overflow_target: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("min_level BETWEEN 1 AND 10", name="min_level"),
        CheckConstraint(_in("overflow_action", OVERFLOW_ACTIONS), name="overflow_action"),
    )


class IvrFlow(Base):
    __tablename__ = "ivr_flows"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]]
    published_at: Mapped[float]
    published_by: Mapped[str | None] = mapped_column(String(64))


class Call(Base):
    """The call detail record (CDR): what happened to one call at this site."""

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(40))
    skill: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    caller_number: Mapped[str | None] = mapped_column(String(32))
    dialled_number: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    flow_id: Mapped[str | None] = mapped_column(String(64))
    flow_version: Mapped[int | None] = mapped_column(Integer)
    original_arrival_at: Mapped[float | None]
    arrival_at: Mapped[float | None]
    ivr_start_at: Mapped[float | None]
    ivr_end_at: Mapped[float | None]
    queued_at: Mapped[float | None]
    offered_at: Mapped[float | None]
    answered_at: Mapped[float | None]
    ended_at: Mapped[float | None]
    wrap_up_end_at: Mapped[float | None]
    hold_total_s: Mapped[float] = mapped_column(default=0.0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    failovers: Mapped[int] = mapped_column(Integer, default=0)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    resumed_from: Mapped[str | None] = mapped_column(String(32))
    first_site: Mapped[str | None] = mapped_column(String(64))  # where the call arrived (it may end here)
    failover_gap_s: Mapped[float] = mapped_column(default=0.0, server_default="0")  # talking calls: lost between sites
    ivr_path: Mapped[str | None] = mapped_column(Text)  # JSON (cluster.ivr_path)

    __table_args__ = (Index("ix_calls_site_arrival_at", "site", "arrival_at"),)


class AgentSession(Base):
    """One stretch of an agent in one state (and not-ready reason) at this site; append-only.
    ``ended_at`` is when the state changed (or the site stopped)."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[float]
    ended_at: Mapped[float]

    __table_args__ = (Index("ix_agent_sessions_site_started_at", "site", "started_at"),)


class CallEvent(Base):
    __tablename__ = "call_events"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[float]
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]


class Disposition(Base):
    """What the agent and the IVR recorded about a call: wrap-up code and notes (numbers that
    look like cards or accounts masked), what the IVR collected and did. One row per call."""

    __tablename__ = "dispositions"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(String(2000))
    collected: Mapped[dict[str, Any]]
    attributes: Mapped[dict[str, Any]]
    actions: Mapped[dict[str, Any]]  # {"done": [...]}: JSON object, one shape on every engine
    recorded_at: Mapped[float]


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16), default="wav")
    channels: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[float]
    ended_at: Mapped[float | None]
    duration_s: Mapped[float | None]
    paused_s: Mapped[float] = mapped_column(default=0.0)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    call_id: Mapped[str | None] = mapped_column(String(64))
    site: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(40))
    requested_at: Mapped[float]
    due_at: Mapped[float]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[float | None]

    __table_args__ = (
        CheckConstraint(_in("state", CALLBACK_STATES), name="state"),
        Index("ix_callbacks_state_due_at", "state", "due_at"),
    )


class Voicemail(Base):
    __tablename__ = "voicemail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(40))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(500))
    duration_s: Mapped[float]
    created_at: Mapped[float]
    heard: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """Append-only (triggers refuse UPDATE and DELETE; see migration 0006) and hash-chained
    per site (:mod:`site_node.storage.chain`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20), server_default="")
    site: Mapped[str] = mapped_column(String(64), server_default="")
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_site_id", "site", "id"),)


class StatsAggregate(Base):
    """KPIs of one interval for one (site, queue, agent) cell; ``None`` means "all"."""

    __tablename__ = "stats_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interval_start: Mapped[float]
    interval_s: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(40))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    kpis: Mapped[dict[str, Any]]
    computed_at: Mapped[float | None]

    __table_args__ = (Index("ix_stats_aggregates_site_interval", "site", "interval_start"),)


metadata = Base.metadata
