"""The knowledge base as the API sees it: validation, the version lifecycle with optimistic
article versions, views and feedback, and ranked search.

The decisions are :mod:`lifecycle`'s and :mod:`ranking`'s; this reads and writes through
:class:`KnowledgeStore`. The published version is what agents read and search while the next
version is drafted and reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from central.knowledge.errors import BadArticle, BadQuery, UnknownArticle
from central.knowledge.lifecycle import VersionEvent, VersionState, version_step
from central.knowledge.ranking import boost, mark, marked_html, snippet, terms, text_score
from central.knowledge.store import KnowledgeStore
from cluster.clock import Clock

KINDS = ("article", "qa")
LANGS = ("en", "zh")
TAG_KEYS = ("skill", "queue", "ivr_path", "product")
STEPS = ("submit", "approve", "reject", "publish")
MAX_TITLE, MAX_BODY, MAX_QUESTIONS, MAX_COMMENT = 300, 20_000, 20, 500
_TAG_VALUE = re.compile(r"[^\s=]{1,100}")
_TEXT_FIELDS = ("title", "body", "questions", "tags")


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadArticle(f"{name}: a text of 1 to {limit} characters", field=name)
    return value.strip()


def _questions(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        raise BadArticle(f"questions: a list of at most {MAX_QUESTIONS} similar questions", field="questions")
    return [_text(q, f"questions.{i}", MAX_TITLE) for i, q in enumerate(value)]


def _tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadArticle("tags: an object of " + ", ".join(TAG_KEYS), field="tags")
    tags: dict[str, str] = {}
    for key, tag in value.items():
        if key not in TAG_KEYS:
            raise BadArticle(f"tags.{key}: not a tag (one of {', '.join(TAG_KEYS)})", field=f"tags.{key}")
        if not isinstance(tag, str) or not _TAG_VALUE.fullmatch(tag):
            raise BadArticle(f"tags.{key}: 1 to 100 characters without spaces or '='", field=f"tags.{key}")
        tags[key] = tag
    return tags


def draft_fields(body: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A draft's text from a request body over ``base`` (the version it edits); bad input names its field."""
    draft: dict[str, Any] = {k: base[k] for k in _TEXT_FIELDS} if base else {"questions": [], "tags": {}}
    if "title" in body or base is None:
        draft["title"] = _text(body.get("title"), "title", MAX_TITLE)
    if "body" in body or base is None:
        draft["body"] = _text(body.get("body"), "body", MAX_BODY)
    if "questions" in body:
        draft["questions"] = _questions(body["questions"])
    if "tags" in body:
        draft["tags"] = _tags(body["tags"])
    return draft


def _known(body: Mapping[str, Any], fields: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadArticle(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])


def tag_filters(raw: Iterable[str]) -> dict[str, str]:
    """``?tag=skill:billing&tag=product:gas`` -> ``{"skill": "billing", "product": "gas"}``."""
    tags: dict[str, str] = {}
    for item in raw:
        key, _, value = item.partition(":")
        if key not in TAG_KEYS or not _TAG_VALUE.fullmatch(value):
            raise BadQuery(f"tag: key:value with a key among {', '.join(TAG_KEYS)}", field="tag")
        tags[key] = value
    return tags


class KnowledgeService:
    def __init__(self, store: KnowledgeStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def create(self, actor: str, body: Mapping[str, Any]) -> dict[str, Any]:
        _known(body, ("kind", "lang", *_TEXT_FIELDS))
        kind, lang = body.get("kind", "article"), body.get("lang")
        if kind not in KINDS:
            raise BadArticle(f"kind: one of {', '.join(KINDS)}", field="kind")
        if lang not in LANGS:
            raise BadArticle(f"lang: one of {', '.join(LANGS)}", field="lang")
        article_id = await self.store.create(kind, lang, draft_fields(body), actor, self.clock.now())
        return await self.view(article_id, latest=True)

    async def view(self, article_id: int, *, latest: bool, count: bool = False) -> dict[str, Any]:
        """The article with its published version (``latest``: the newest, for editors)."""
        article = await self.store.article(article_id)
        number = article["latest"] if latest else article["published"]
        if number is None:
            raise UnknownArticle(f"article {article_id} is not published yet", error_id="knowledge.not_published",
                                 article=article_id)  # fmt: skip
        if count:
            await self.store.count_view(article_id)
            article["views"] += 1
        return article | {"current": await self.store.version(article_id, number)}

    async def edit(self, article_id: int, actor: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Edit the draft, or start the next version after the published one (which stays served)."""
        _known(body, (*_TEXT_FIELDS, "version"))
        article = await self._at(article_id, body.get("version"))
        latest = await self.store.version(article_id, article["latest"])
        state = VersionState(latest["state"])
        new = state in (VersionState.PUBLISHED, VersionState.SUPERSEDED)
        if not new:
            version_step(state, VersionEvent.EDIT, actor=actor, author=latest["author"])
        draft = draft_fields(body, latest)
        number = latest["number"] + 1 if new else latest["number"]
        await self.store.save_draft(article, number, draft, actor, self.clock.now(), new=new)
        return await self.view(article_id, latest=True)

    async def step(self, article_id: int, event: str, actor: str, body: Mapping[str, Any]) -> dict[str, Any]:
        _known(body, ("version",))
        article = await self._at(article_id, body.get("version"))
        latest = await self.store.version(article_id, article["latest"])
        kind = VersionEvent(event)
        after = version_step(VersionState(latest["state"]), kind, actor=actor, author=latest["author"])
        reviewer = actor if kind in (VersionEvent.APPROVE, VersionEvent.REJECT) else None
        superseded = article["published"] if after is VersionState.PUBLISHED else None
        await self.store.step(article, latest["number"], after.value, event, actor, self.clock.now(),
                              reviewer=reviewer, superseded=superseded)  # fmt: skip
        return await self.view(article_id, latest=True)

    async def _at(self, article_id: int, version: Any) -> dict[str, Any]:
        article = await self.store.article(article_id)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise BadArticle("version: the article's version read (a number)", field="version")
        if version is not None and version != article["version"]:
            article["version"] = version  # the store refuses it: knowledge.version_conflict
        return article

    async def feedback(self, article_id: int, actor: str, body: Mapping[str, Any]) -> dict[str, Any]:
        _known(body, ("helpful", "comment"))
        helpful, comment = body.get("helpful"), body.get("comment", "")
        if not isinstance(helpful, bool):
            raise BadArticle("helpful: true or false", field="helpful")
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
            raise BadArticle(f"comment: at most {MAX_COMMENT} characters", field="comment")
        article = await self.store.article(article_id)
        if article["published"] is None:
            raise UnknownArticle(f"article {article_id} is not published yet", error_id="knowledge.not_published",
                                 article=article_id)  # fmt: skip
        counts = await self.store.feedback(article_id, actor, helpful, comment.strip(), self.clock.now())
        return {"id": article_id, **counts}

    async def search(self, query: str, tags: Iterable[str], lang: str | None, limit: int) -> list[dict[str, Any]]:
        """Published articles matching every term, best first, with highlighted title and snippet."""
        words = terms(query)
        filters = tag_filters(tags)
        if lang is not None and lang not in LANGS:
            raise BadQuery(f"lang: one of {', '.join(LANGS)}", field="lang")
        hits = []
        for hit in await self.store.search(words, filters, lang):
            if hit["relevance"] is None:  # no FTS5: rank and mark in Python
                title, questions, body = hit["fields"]
                relevance = text_score(words, (title, questions, body))
                hit |= {"title": mark(title, words), "snippet": snippet(body, words)}
            else:
                relevance = hit["relevance"]
            score = relevance * boost(hit["views"], hit["helpful"], hit["unhelpful"])
            hits.append({"id": hit["id"], "kind": hit["kind"], "lang": hit["lang"], "score": float(f"{score:.6g}"),
                         "title": marked_html(hit["title"]), "snippet": marked_html(hit["snippet"]),
                         "views": hit["views"], "helpful": hit["helpful"], "unhelpful": hit["unhelpful"]})  # fmt: skip
        hits.sort(key=lambda h: (-h["score"], h["id"]))
        return hits[:limit]
