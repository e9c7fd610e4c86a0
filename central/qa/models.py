"""The QA tables of the business database (their own MetaData, see central.business.schema).

``qa_forms`` keeps every version of every scorecard form (never updated: a new version is a new
row); ``qa_evaluations`` one evaluation of one call's recording by one evaluator, with the form
version it used, its answers, time-stamped comments, the computed score and the agent's response.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Double, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from site_node.storage.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, float: Double}


metadata = Base.metadata


class QaForm(Base):
    __tablename__ = "qa_forms"

    form_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column()


class QaEvaluation(Base):
    __tablename__ = "qa_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    form_id: Mapped[str] = mapped_column(String(40))
    form_version: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(40))
    evaluator: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]]
    comments: Mapped[list[Any]]  # [{"at_s": seconds into the recording, "text": ...}]
    score: Mapped[float] = mapped_column()
    auto_failed: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16), server_default="submitted")  # | acknowledged | disputed
    response: Mapped[str | None] = mapped_column(Text)  # the agent's words when disputing
    created_at: Mapped[float] = mapped_column(index=True)
