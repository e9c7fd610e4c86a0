"""QA in the business database: form versions, evaluations scored by :func:`central.qa.scoring.score`,
the agent's acknowledgement or dispute, results per agent / team / queue, calibration spread.

Every write is checked first (a bad form or answer changes nothing); time is passed in (``now``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.qa.errors import BadAnswer, NotYours, UnknownEvaluation, UnknownForm
from central.qa.forms import Form, parse_form
from central.qa.models import QaEvaluation, QaForm
from central.qa.scoring import Answer, Spread, calibration, score
from site_node.storage.errors import translate_errors

GroupBy = Literal["agent_id", "team", "queue"]
_VIEW = ("id", "form_id", "form_version", "call_id", "agent_id", "team", "queue", "evaluator", "answers",
         "comments", "score", "auto_failed", "state", "response", "created_at")  # fmt: skip


def _comments(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, comment in enumerate(raw):
        at, text = comment.get("at_s"), comment.get("text")
        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise BadAnswer(f"comments[{i}].at_s: seconds into the recording", field=f"comments[{i}].at_s")
        if not isinstance(text, str) or not text.strip() or len(text) > 2000:
            raise BadAnswer(f"comments[{i}].text: 1 to 2000 characters", field=f"comments[{i}].text")
        out.append({"at_s": float(at), "text": text.strip()})
    return sorted(out, key=lambda c: c["at_s"])


class QaStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def publish_form(self, form_id: str, document: Mapping[str, Any], actor: str, now: float) -> Form:
        """A new version of ``form_id`` (1 for a new form); older versions stay as they were."""
        async with translate_errors("qa_publish_form"), self.sessions.begin() as s:
            latest = await s.scalar(select(func.max(QaForm.version)).where(QaForm.form_id == form_id))
            form = parse_form(document, form_id=form_id, version=(latest or 0) + 1)
            s.add(QaForm(form_id=form_id, version=form.version, title=form.title, document=dict(document),
                         created_by=actor, created_at=now))  # fmt: skip
            return form

    async def form(self, form_id: str, version: int | None = None) -> Form:
        query = select(QaForm).where(QaForm.form_id == form_id)
        query = query.where(QaForm.version == version) if version else query.order_by(QaForm.version.desc())
        async with translate_errors("qa_form"), self.sessions() as s:
            row = (await s.scalars(query.limit(1))).first()
        if row is None:
            raise UnknownForm(f"form {form_id!r}" + (f" version {version}" if version else "") + " does not exist",
                              field="form_id")  # fmt: skip
        return parse_form(row.document, form_id=row.form_id, version=row.version)

    async def evaluate(self, form: Form, call: Mapping[str, Any], evaluator: str, answers: Mapping[str, Answer],
                       comments: Sequence[Mapping[str, Any]], now: float) -> dict[str, Any]:  # fmt: skip
        """Score and keep one evaluation of ``call`` (its CDR: call_id, agent_id, queue; team)."""
        result = score(form, answers)
        notes = _comments(comments)
        if not call.get("agent_id"):
            raise BadAnswer("call.agent_id: the call was not answered by an agent", field="call.agent_id")
        row = QaEvaluation(form_id=form.form_id, form_version=form.version, call_id=str(call["call_id"]),
                           agent_id=str(call["agent_id"]), team=call.get("team"), queue=call.get("queue"),
                           evaluator=evaluator, answers=dict(answers), comments=notes, score=result.score,
                           auto_failed=bool(result.auto_failed), state="submitted", created_at=now)  # fmt: skip
        async with translate_errors("qa_evaluate"), self.sessions.begin() as s:
            s.add(row)
            await s.flush()
            return {name: getattr(row, name) for name in _VIEW}

    async def respond(self, evaluation_id: int, agent_id: str, *, dispute: str | None = None) -> dict[str, Any]:
        """The evaluated agent acknowledges it, or disputes it saying why."""
        if dispute is not None and not 1 <= len(dispute.strip()) <= 2000:
            raise BadAnswer("response: 1 to 2000 characters saying why", field="response")
        async with translate_errors("qa_respond"), self.sessions.begin() as s:
            row = await s.get(QaEvaluation, evaluation_id)
            if row is None:
                raise UnknownEvaluation(f"evaluation {evaluation_id} does not exist", field="id")
            if row.agent_id != agent_id:
                raise NotYours("agents respond to their own evaluations only", field="id")
            row.state = "acknowledged" if dispute is None else "disputed"
            row.response = None if dispute is None else dispute.strip()
            return {name: getattr(row, name) for name in _VIEW}

    async def of_agent(self, agent_id: str) -> list[dict[str, Any]]:
        query = select(QaEvaluation).where(QaEvaluation.agent_id == agent_id).order_by(QaEvaluation.created_at)
        async with translate_errors("qa_of_agent"), self.sessions() as s:
            return [{name: getattr(r, name) for name in _VIEW} for r in (await s.scalars(query)).all()]

    async def results(self, by: GroupBy, start: float, end: float) -> list[dict[str, Any]]:
        """Per agent, team or queue: evaluations, mean score, auto-fails, in ``[start, end)``."""
        column = getattr(QaEvaluation, by)
        query = (
            select(
                column,
                func.count(),
                func.avg(QaEvaluation.score),
                func.sum(case((QaEvaluation.auto_failed.is_(True), 1), else_=0)),
            )
            .where(QaEvaluation.created_at >= start, QaEvaluation.created_at < end)
            .group_by(column)
            .order_by(column)
        )
        async with translate_errors("qa_results"), self.sessions() as s:
            rows = (await s.execute(query)).all()
        return [{by: key, "evaluations": n, "mean_score": round(float(mean), 1), "auto_failed": int(fails or 0)}
                for key, n, mean, fails in rows]  # fmt: skip

    async def calibration(self, call_id: str, form: Form) -> Spread:
        """The spread of every evaluation of ``call_id`` made with ``form``'s version."""
        query = select(QaEvaluation.answers).where(
            QaEvaluation.call_id == call_id, QaEvaluation.form_id == form.form_id,
            QaEvaluation.form_version == form.version).order_by(QaEvaluation.id)  # fmt: skip
        async with translate_errors("qa_calibration"), self.sessions() as s:
            answers = list((await s.scalars(query)).all())
        return calibration(form, answers)
