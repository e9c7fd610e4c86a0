"""The CRM tables of the business database (their own MetaData, see central.business.schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from site_node.storage.models import NAMING_CONVENTION

SEGMENTS = ("retail", "vip", "business", "private_banking")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, float: Double}


metadata = Base.metadata


class CrmCustomer(Base):
    __tablename__ = "crm_customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(200))  # accent-free, case-folded name
    segment: Mapped[str] = mapped_column(String(32), index=True, server_default="retail")
    language: Mapped[str] = mapped_column(String(8), server_default="en")
    home_site: Mapped[str | None] = mapped_column(String(64))
    emails: Mapped[list[str]] = mapped_column(default=list)
    may_call: Mapped[bool] = mapped_column(Boolean, server_default="1")
    may_sms: Mapped[bool] = mapped_column(Boolean, server_default="1")
    may_email: Mapped[bool] = mapped_column(Boolean, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, server_default="1")
    services: Mapped[list[str]] = mapped_column(default=list)  # enabled services (B2)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    merged_into: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[float]
    updated_at: Mapped[float]


class CrmPhone(Base):
    __tablename__ = "crm_phones"

    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customers.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), primary_key=True)

    __table_args__ = (Index("ix_crm_phones_number", "number"),)


class CrmAccount(Base):
    """Stored masked (last four) and as a keyed hash of the full number, never in full."""

    __tablename__ = "crm_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    masked_number: Mapped[str] = mapped_column(String(32))
    last_four: Mapped[str] = mapped_column(String(4), index=True)
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    currency: Mapped[str] = mapped_column(String(3), server_default="EUR")


class CrmHistory(Base):
    """One customer's contact timeline: calls, and entries other features add (work orders, ...)."""

    __tablename__ = "crm_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customers.id", ondelete="CASCADE"))
    at: Mapped[float]
    kind: Mapped[str] = mapped_column(String(32))  # call, work_order, notification, callback, ...
    site: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(64))  # call id, work order id: idempotent appends
    details: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_crm_history_timeline", "customer_id", "at", "id"),
        Index("ix_crm_history_ref", "kind", "ref", unique=True),
    )


class CrmAudit(Base):
    """Who viewed or changed which customer (append-only; the details pass the sensitive-data guard)."""

    __tablename__ = "crm_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    replica: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]]
