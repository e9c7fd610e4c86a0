"""The knowledge API's part of central's OpenAPI document (issue 22)."""

from __future__ import annotations

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_BASE = {**TOKEN_ERRORS, "role.forbidden": 403, "request.bad_field": 400, "knowledge.bad_article": 400}
_ONE = {**_BASE, "knowledge.unknown": 404}
_STEP = {**_ONE, "knowledge.transition_not_allowed": 409, "knowledge.version_conflict": 409}

_OPERATIONS: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("post", "/v1/knowledge/articles", "create a draft article or Q&A pair: kind (article, qa), lang (en, zh), "
     "title, body, similar questions, tags (skill, queue, ivr_path, product) (team leaders and up)", _BASE),
    ("get", "/v1/knowledge/articles", "search the published articles: q (English or Chinese, partial words), "
     "tag=key:value (repeatable), lang, limit; ranked by relevance (bm25) with a usage and feedback boost, "
     "title and snippet highlighted with <mark>", {**_BASE, "knowledge.bad_query": 400}),
    ("get", "/v1/knowledge/articles/{id}", "the published version (counted as a view); latest=1: the newest "
     "version, draft or in review (team leaders and up)", {**_ONE, "knowledge.not_published": 404}),
    ("put", "/v1/knowledge/articles/{id}", "edit the draft (any of title, body, questions, tags; version: the "
     "article's version read), or start the next version after the published one, which stays served", _STEP),
    ("get", "/v1/knowledge/articles/{id}/history", "every edit and step of the article: who, when, which version",
     _ONE),
    ("post", "/v1/knowledge/articles/{id}/feedback", "helpful (true or false) and a comment on a published "
     "article, from the agent who read it", {**_ONE, "knowledge.not_published": 404}),
    ("post", "/v1/knowledge/articles/{id}/{event}", "submit the draft for review (team leaders and up); approve or "
     "reject it (managers and up, not its author); publish the approved version (managers and up)",
     {**_STEP, "knowledge.self_approval": 403, "knowledge.bad_step": 404}),
)  # fmt: skip


def describe_knowledge(doc: ApiDoc) -> None:
    for method, path, summary, errors in _OPERATIONS:
        doc.op(method, path, summary, errors=errors)
