"""The SOP tables of the business database (their own MetaData, see central.business.schema):
published definition versions, instances (each with the snapshot of the document it started
with and its engine state), and every event an instance went through."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from site_node.storage.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, float: Double}


metadata = Base.metadata


class SopDefinition(Base):
    __tablename__ = "sop_definitions"
    __table_args__ = (Index("ix_sop_definitions_key_version", "key", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column()
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[float] = mapped_column()


class SopInstance(Base):
    __tablename__ = "sop_instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the definition version it started with
    snapshot: Mapped[dict[str, Any]] = mapped_column()  # that version's document, as published
    status: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[float | None] = mapped_column(index=True)  # a timer waited on
    state: Mapped[dict[str, Any]] = mapped_column()
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column()
    updated_at: Mapped[float] = mapped_column()
    revision: Mapped[int] = mapped_column(Integer, server_default="1")  # optimistic: one writer wins


class SopHistory(Base):
    """Every event an instance took: who, when, where it was and where it went."""

    __tablename__ = "sop_history"
    __table_args__ = (Index("ix_sop_history_instance_seq", "instance_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("sop_instances.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))  # start | submit | resolved | timer | rollback | cancel
    element: Mapped[str | None] = mapped_column(String(64))  # the element the event was about
    details: Mapped[dict[str, Any]] = mapped_column()
