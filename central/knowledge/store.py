"""The knowledge tables through SQLAlchemy: articles with optimistic versions, their versions,
feedback, the audit trail, and the search index (SQLite: the FTS5 trigram table ``kb_fts``
holding each article's published text, rewritten on publish; PostgreSQL: ILIKE served by the
pg_trgm index on ``kb_versions.search_text``). Nothing here decides; the service does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from central.knowledge.errors import UnknownArticle, VersionConflict
from central.knowledge.models import KbArticle, KbAudit, KbFeedback, KbVersion
from central.knowledge.ranking import CLOSE, OPEN, WEIGHTS, fts_query, like_pattern
from site_node.storage.errors import translate_errors

ARTICLE_FIELDS = ("id", "kind", "lang", "published", "latest", "views", "helpful", "unhelpful", "created_by",
                  "created_at", "updated_at", "version")  # fmt: skip
VERSION_FIELDS = ("number", "state", "title", "body", "questions", "tags", "author", "reviewer", "created_at",
                  "updated_at")  # fmt: skip
CANDIDATES = 100  # ranked by relevance first, then re-ranked with the boost

_FTS_DROP = text("DELETE FROM kb_fts WHERE rowid = :id")
_FTS_ADD = text("INSERT INTO kb_fts(rowid, title, questions, body, lang, tags) "
                "VALUES (:id, :title, :questions, :body, :lang, :tags)")  # fmt: skip


def _view(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def tag_text(tags: dict[str, str]) -> str:
    """`` key=value key=value `` (spaces around each), matched by ``LIKE '% key=value %'``."""
    return " " + " ".join(f"{k}={v}" for k, v in sorted(tags.items())) + " "


def search_text(title: str, questions: Sequence[str], body: str) -> str:
    return "\n".join((title, *questions, body))


class KnowledgeStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: async_sessionmaker[AsyncSession] | None = None) -> None:  # fmt: skip
        self.sessions = sessions
        self.reads = reads or sessions

    async def create(self, kind: str, lang: str, draft: dict[str, Any], actor: str, now: float) -> int:
        async with translate_errors("knowledge_create"), self.sessions.begin() as s:
            article = KbArticle(kind=kind, lang=lang, published=None, latest=1, views=0, helpful=0, unhelpful=0,
                                created_by=actor, created_at=now, updated_at=now, version=1)  # fmt: skip
            s.add(article)
            await s.flush()
            s.add(self._version(article.id, 1, draft, actor, now))
            s.add(KbAudit(article_id=article.id, at=now, actor=actor, action="create", number=1,
                          details={"kind": kind, "lang": lang}))  # fmt: skip
            return article.id

    @staticmethod
    def _version(article_id: int, number: int, draft: dict[str, Any], actor: str, now: float) -> KbVersion:
        return KbVersion(article_id=article_id, number=number, state="draft", title=draft["title"],
                         body=draft["body"], questions=draft["questions"], tags=draft["tags"],
                         search_text=search_text(draft["title"], draft["questions"], draft["body"]),
                         tag_text=tag_text(draft["tags"]), author=actor, reviewer=None, created_at=now,
                         updated_at=now)  # fmt: skip

    async def article(self, article_id: int) -> dict[str, Any]:
        async with translate_errors("knowledge_get"), self.reads() as s:
            row = await s.get(KbArticle, article_id)
            if row is None:
                raise UnknownArticle(f"no article {article_id}", article=article_id)
            return _view(row, ARTICLE_FIELDS)

    async def version(self, article_id: int, number: int) -> dict[str, Any]:
        async with translate_errors("knowledge_get"), self.reads() as s:
            row = await s.scalar(select(KbVersion).where(KbVersion.article_id == article_id,
                                                         KbVersion.number == number))  # fmt: skip
            if row is None:
                raise UnknownArticle(f"article {article_id} has no version {number}", article=article_id)
            return _view(row, VERSION_FIELDS)

    async def _claim(self, s: AsyncSession, article: dict[str, Any], now: float, **values: Any) -> None:
        done = await s.execute(update(KbArticle).where(KbArticle.id == article["id"],
                                                       KbArticle.version == article["version"])
                               .values(version=article["version"] + 1, updated_at=now, **values))  # fmt: skip
        if not done.rowcount:  # type: ignore[attr-defined]
            raise VersionConflict(f"article {article['id']} changed meanwhile; read it again", article=article["id"])

    async def save_draft(self, article: dict[str, Any], number: int, draft: dict[str, Any], actor: str,
                         now: float, *, new: bool) -> None:  # fmt: skip
        """Write the draft ``number`` (a new version after the published one when ``new``)."""
        async with translate_errors("knowledge_edit"), self.sessions.begin() as s:
            await self._claim(s, article, now, latest=number)
            if new:
                s.add(self._version(article["id"], number, draft, actor, now))
            else:
                await s.execute(update(KbVersion).where(KbVersion.article_id == article["id"],
                                                        KbVersion.number == number).values(
                    title=draft["title"], body=draft["body"], questions=draft["questions"], tags=draft["tags"],
                    search_text=search_text(draft["title"], draft["questions"], draft["body"]),
                    tag_text=tag_text(draft["tags"]), author=actor, updated_at=now))  # fmt: skip
            s.add(KbAudit(article_id=article["id"], at=now, actor=actor, action="edit", number=number,
                          details={"fields": sorted(draft)}))  # fmt: skip

    async def step(self, article: dict[str, Any], number: int, state: str, action: str, actor: str, now: float,
                   *, reviewer: str | None = None, superseded: int | None = None) -> None:  # fmt: skip
        """A version's new ``state``; on publish the article serves it and the index holds it."""
        async with translate_errors("knowledge_step"), self.sessions.begin() as s:
            published = {"published": number} if state == "published" else {}
            await self._claim(s, article, now, **published)
            values: dict[str, Any] = {"state": state, "updated_at": now}
            if reviewer is not None:
                values["reviewer"] = reviewer
            await s.execute(update(KbVersion).where(KbVersion.article_id == article["id"], KbVersion.number == number)
                            .values(**values))  # fmt: skip
            if superseded is not None:
                await s.execute(update(KbVersion).where(KbVersion.article_id == article["id"],
                                                        KbVersion.number == superseded)
                                .values(state="superseded", updated_at=now))  # fmt: skip
            s.add(KbAudit(article_id=article["id"], at=now, actor=actor, action=action, number=number, details={}))
            if state == "published" and s.get_bind().dialect.name == "sqlite":
                row = await s.scalar(select(KbVersion).where(KbVersion.article_id == article["id"],
                                                             KbVersion.number == number))  # fmt: skip
                assert row is not None
                await s.execute(_FTS_DROP, {"id": article["id"]})
                await s.execute(_FTS_ADD, {"id": article["id"], "title": row.title, "body": row.body,
                                           "questions": "\n".join(row.questions), "lang": article["lang"],
                                           "tags": row.tag_text})  # fmt: skip

    async def count_view(self, article_id: int) -> None:
        async with translate_errors("knowledge_view"), self.sessions.begin() as s:
            await s.execute(update(KbArticle).where(KbArticle.id == article_id).values(views=KbArticle.views + 1))

    async def feedback(self, article_id: int, actor: str, helpful: bool, comment: str, now: float) -> dict[str, int]:
        async with translate_errors("knowledge_feedback"), self.sessions.begin() as s:
            column = "helpful" if helpful else "unhelpful"
            await s.execute(update(KbArticle).where(KbArticle.id == article_id)
                            .values({column: getattr(KbArticle, column) + 1}))  # fmt: skip
            s.add(KbFeedback(article_id=article_id, at=now, actor=actor, helpful=helpful, comment=comment))
            row = await s.get(KbArticle, article_id)
            assert row is not None
            await s.refresh(row)
            return {"helpful": row.helpful, "unhelpful": row.unhelpful}

    async def history(self, article_id: int) -> list[dict[str, Any]]:
        async with translate_errors("knowledge_history"), self.reads() as s:
            rows = (await s.scalars(select(KbAudit).where(KbAudit.article_id == article_id)
                                    .order_by(KbAudit.id))).all()  # fmt: skip
            return [{"at": r.at, "actor": r.actor, "action": r.action, "number": r.number, "details": r.details}
                    for r in rows]  # fmt: skip

    async def search(self, words: Sequence[str], tags: dict[str, str], lang: str | None) -> list[dict[str, Any]]:
        """Up to :data:`CANDIDATES` published articles matching every term: each with its title,
        ``relevance`` (FTS5 bm25 negated; ``None``: rank by text) and ``snippet`` (FTS5; ``None``)."""
        async with translate_errors("knowledge_search"), self.reads() as s:
            match = fts_query(words)
            if s.get_bind().dialect.name == "sqlite" and match is not None:
                return await self._fts(s, match, words, tags, lang)
            return await self._scan(s, words, tags, lang)

    @staticmethod
    async def _fts(s: AsyncSession, match: str, words: Sequence[str], tags: dict[str, str],
                   lang: str | None) -> list[dict[str, Any]]:  # fmt: skip
        where, params = ["kb_fts MATCH :q"], {"q": match, "limit": CANDIDATES, "open": OPEN, "close": CLOSE}
        for i, word in enumerate(w for w in words if len(w) < 3):  # a trigram cannot match these
            where.append(f"(kb_fts.title || kb_fts.questions || kb_fts.body) LIKE :short{i} ESCAPE '\\'")
            params[f"short{i}"] = like_pattern(word)
        for i, (key, value) in enumerate(sorted(tags.items())):
            where.append(f"instr(kb_fts.tags, :tag{i}) > 0")
            params[f"tag{i}"] = f" {key}={value} "
        if lang:
            where.append("kb_fts.lang = :lang")
            params["lang"] = lang
        weights = ", ".join(str(w) for w in WEIGHTS)
        query = text(f"SELECT kb_fts.rowid, -bm25(kb_fts, {weights}) AS relevance, "
                     "highlight(kb_fts, 0, :open, :close), snippet(kb_fts, 2, :open, :close, '…', 16), "
                     "a.views, a.helpful, a.unhelpful, a.kind, a.lang "
                     f"FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid WHERE {' AND '.join(where)} "
                     "ORDER BY bm25(kb_fts, " + weights + ") LIMIT :limit")  # fmt: skip
        rows = (await s.execute(query, params)).all()
        return [{"id": r[0], "relevance": float(r[1]), "title": r[2], "snippet": r[3], "views": r[4],
                 "helpful": r[5], "unhelpful": r[6], "kind": r[7], "lang": r[8], "fields": None}
                for r in rows]  # fmt: skip

    @staticmethod
    async def _scan(s: AsyncSession, words: Sequence[str], tags: dict[str, str],
                    lang: str | None) -> list[dict[str, Any]]:  # fmt: skip
        postgres = s.get_bind().dialect.name == "postgresql"
        conditions = [KbVersion.search_text.ilike(like_pattern(w), escape="\\") if postgres
                      else KbVersion.search_text.like(like_pattern(w), escape="\\") for w in words]  # fmt: skip
        query = (select(KbVersion, KbArticle).join(KbArticle, and_(KbArticle.id == KbVersion.article_id,
                                                                   KbArticle.published == KbVersion.number))
                 .where(*conditions).limit(CANDIDATES * 5))  # fmt: skip
        if lang:
            query = query.where(KbArticle.lang == lang)
        for key, value in tags.items():
            query = query.where(KbVersion.tag_text.like(like_pattern(f" {key}={value} "), escape="\\"))
        rows = (await s.execute(query)).tuples().all()
        return [{"id": a.id, "relevance": None, "title": v.title, "snippet": None, "views": a.views,
                 "helpful": a.helpful, "unhelpful": a.unhelpful, "kind": a.kind, "lang": a.lang,
                 "fields": (v.title, "\n".join(v.questions), v.body)} for v, a in rows]  # fmt: skip
