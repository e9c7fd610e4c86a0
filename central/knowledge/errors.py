"""Errors of the knowledge base (stable ids; :mod:`cluster.errors`)::

KnowledgeError             knowledge.error                 400
├── BadArticle             knowledge.bad_article           400 (names its field)
├── BadQuery               knowledge.bad_query             400
├── TransitionNotAllowed   knowledge.transition_not_allowed 409
├── SelfApproval           knowledge.self_approval         403 (the author cannot approve their own)
├── VersionConflict        knowledge.version_conflict      409
└── UnknownArticle         knowledge.unknown               404 (or not published yet)
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class KnowledgeError(CallCenterError):
    error_id = "knowledge.error"
    status = 400


class BadArticle(KnowledgeError):
    error_id = "knowledge.bad_article"


class BadQuery(KnowledgeError):
    error_id = "knowledge.bad_query"


class TransitionNotAllowed(KnowledgeError):
    error_id = "knowledge.transition_not_allowed"
    status = 409


class SelfApproval(KnowledgeError):
    error_id = "knowledge.self_approval"
    status = 403


class VersionConflict(KnowledgeError):
    error_id = "knowledge.version_conflict"
    status = 409


class UnknownArticle(KnowledgeError):
    error_id = "knowledge.unknown"
    status = 404
