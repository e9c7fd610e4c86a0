"""The campaign tables of the business database (their own MetaData, see central.business.schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from site_node.storage.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, float: Double}


metadata = Base.metadata


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # reminder | return_visit | survey
    state: Mapped[str] = mapped_column(String(16), server_default="draft")
    mode: Mapped[str] = mapped_column(String(16))  # preview | progressive
    ratio: Mapped[float] = mapped_column(server_default="1")
    blend_below: Mapped[float | None] = mapped_column()
    tz: Mapped[str] = mapped_column(String(64))  # the list's default zone
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retry: Mapped[dict[str, Any]] = mapped_column(default=dict)
    agents: Mapped[list[str]] = mapped_column(default=list)  # who works it (empty: any call role)
    script: Mapped[str] = mapped_column(Text, server_default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column()
    updated_at: Mapped[float] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class CampaignContact(Base):
    __tablename__ = "campaign_contacts"
    __table_args__ = (
        Index("ix_campaign_contacts_due", "campaign_id", "state", "priority", "next_at"),
        Index("ix_campaign_contacts_phone", "campaign_id", "phone", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    customer_number: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), server_default="")
    tz: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_at: Mapped[float] = mapped_column(server_default="0")
    agent: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[float] = mapped_column(server_default="0")


class CampaignAttempt(Base):
    """Every step a contact took (offer, skip, dial, answer, outcome, block), in order."""

    __tablename__ = "campaign_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("campaign_contacts.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # after the step
    outcome: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DoNotCall(Base):
    __tablename__ = "do_not_call"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[float] = mapped_column()
