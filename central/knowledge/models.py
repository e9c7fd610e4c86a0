"""The knowledge tables of the business database (their own MetaData, see central.business.schema).

The search index is made by hand in the migration (SQLite: the FTS5 trigram table ``kb_fts``
holding each article's published text; PostgreSQL: a pg_trgm GIN index on
``kb_versions.search_text``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from site_node.storage.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, float: Double}


metadata = Base.metadata


class KbArticle(Base):
    """An article or a Q&A pair; its text lives in its versions."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # article | qa
    lang: Mapped[str] = mapped_column(String(8), index=True)  # en | zh
    published: Mapped[int | None] = mapped_column(Integer)  # the version number served
    latest: Mapped[int] = mapped_column(Integer, server_default="1")  # the newest version number
    views: Mapped[int] = mapped_column(Integer, server_default="0")
    helpful: Mapped[int] = mapped_column(Integer, server_default="0")
    unhelpful: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column()
    updated_at: Mapped[float] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, server_default="1")  # optimistic


class KbVersion(Base):
    __tablename__ = "kb_versions"
    __table_args__ = (Index("ix_kb_versions_article_number", "article_id", "number", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(default=list)  # similar questions
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)  # skill, queue, ivr_path, product
    search_text: Mapped[str] = mapped_column(Text, server_default="")  # title, questions, body
    tag_text: Mapped[str] = mapped_column(Text, server_default="")  # " key=value key=value "
    author: Mapped[str] = mapped_column(String(64))
    reviewer: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column()
    updated_at: Mapped[float] = mapped_column()


class KbFeedback(Base):
    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(String(500), server_default="")


class KbAudit(Base):
    """Every edit and step of an article: who, when, what."""

    __tablename__ = "kb_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    at: Mapped[float] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | edit | submit | approve | ...
    number: Mapped[int] = mapped_column(Integer)  # the version acted on
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
