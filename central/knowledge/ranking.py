"""Search terms, ranking and snippets, pure.

SQLite ranks with FTS5's ``bm25`` over the trigram index (title x5, similar questions x3, body);
PostgreSQL, or a query of only one- and two-character terms that a trigram cannot match, ranks
with :func:`text_score`. Either relevance is multiplied by :func:`boost`: articles that are read
and found helpful come first among equally relevant ones.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

from central.knowledge.errors import BadQuery

MAX_QUERY = 200
MAX_TERMS = 8
OPEN, CLOSE = "\ue000", "\ue001"  # marks in the raw text, made <mark> once escaped
_SPLIT = re.compile(r"[\s,.;:!?\"'()\[\]{}<>，。；：！？、（）“”‘’《》]+")
WEIGHTS = (5.0, 3.0, 1.0)  # title, similar questions, body


def terms(query: str) -> list[str]:
    """The query's terms, lower case, de-duplicated (``BadQuery`` when there are none)."""
    if len(query) > MAX_QUERY:
        raise BadQuery(f"q: at most {MAX_QUERY} characters", field="q")
    found: list[str] = []
    for part in _SPLIT.split(query.lower()):
        if part and part not in found:
            found.append(part)
    if not found:
        raise BadQuery("q: a word or phrase to search for", field="q")
    if len(found) > MAX_TERMS:
        raise BadQuery(f"q: at most {MAX_TERMS} terms", field="q")
    return found


def fts_query(words: Sequence[str]) -> str | None:
    """An FTS5 MATCH of every term of three or more characters (each a quoted phrase), else None."""
    long = ['"' + w.replace('"', '""') + '"' for w in words if len(w) >= 3]
    return " AND ".join(long) if long else None


def like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def boost(views: int, helpful: int, unhelpful: int) -> float:
    """Usage (logarithmic) times feedback (from 0.75: all unhelpful, to 1.25: all helpful)."""
    usage = 1.0 + 0.1 * math.log1p(max(views, 0))
    feedback = 1.0 + 0.25 * (helpful - unhelpful) / (helpful + unhelpful + 2)
    return usage * feedback


def text_score(words: Sequence[str], fields: Sequence[str]) -> float:
    """A bm25-like relevance from term counts in (title, questions, body), saturating."""
    score = 0.0
    for weight, text in zip(WEIGHTS, fields, strict=True):
        lowered = text.lower()
        for word in words:
            count = lowered.count(word)
            score += weight * count / (count + 1.2)
    return score


def mark(text: str, words: Sequence[str]) -> str:
    """``text`` with every occurrence of ``words`` between :data:`OPEN` and :data:`CLOSE`."""
    wanted = sorted({w for w in words if w}, key=len, reverse=True)
    if not wanted:
        return text
    pattern = re.compile("|".join(re.escape(w) for w in wanted), re.IGNORECASE)
    return pattern.sub(lambda m: OPEN + m.group(0) + CLOSE, text)


def snippet(text: str, words: Sequence[str], width: int = 80) -> str:
    """About ``width`` characters of ``text`` around its first hit, marked (no hit: its start)."""
    lowered = text.lower()
    hits = [i for i in (lowered.find(w) for w in words) if i >= 0]
    start = max(min(hits) - width // 3, 0) if hits else 0
    piece = text[start : start + width]
    return ("…" if start else "") + mark(piece, words) + ("…" if start + width < len(text) else "")


def marked_html(raw: str) -> str:
    """Escape the text, then turn the marks into ``<mark>`` (an article's HTML never gets through)."""
    return html.escape(raw, quote=False).replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
