"""The knowledge base at central (issue 22, point 1): articles and Q&A pairs, versioned and approved.

lifecycle.py  a version's lifecycle (draft, in review, approved, published, superseded): pure
ranking.py    query terms, the usage / feedback boost, scores and snippets where FTS5 is absent: pure
models.py     the tables (articles, versions, feedback, audit) in the business database
store.py      reads and writes, the FTS5 trigram index on SQLite, ILIKE (pg_trgm) on PostgreSQL
service.py    validation and the lifecycle applied with optimistic versions
api.py        /v1/knowledge/articles; openapi.py its documentation; errors.py ``knowledge.*``
"""
