"""The audit trail's hash chain (D3): each entry's ``hash`` covers the one before it.

    hash = SHA-256(canonical JSON of [prev_hash, at, actor, role, site, action, target, details])

The canonical encoding is JSON with sorted keys, no whitespace, ASCII only, and ``at`` written
with ``repr`` (the shortest string that reads back as the same double), so SQLite and
PostgreSQL, which both store ``at`` as a double, give the same bytes. Each site has its own
chain (several sites may share one PostgreSQL database); the first entry of a chain has
``prev_hash`` :data:`GENESIS`.

:func:`verify_chain` is pure: it walks rows in append order (``id``) and names the first entry
that was edited (its content no longer matches its hash), inserted out of chain (it links to
an older entry than the one before it, or the next entry skips it), or that follows a deleted
entry (its link points at something that is no longer there). Deleting the newest entries of a chain
leaves a shorter valid chain: record :attr:`SiteChain.head` elsewhere now and then, and check
later that it is still in :attr:`SiteChain.hashes`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

GENESIS = "0" * 64

Problem = Literal["edited", "inserted", "deleted"]


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored entry as the chain sees it."""

    id: int
    at: float
    actor: str
    role: str
    site: str
    action: str
    target: str | None
    details: Mapping[str, Any]
    prev_hash: str | None
    hash: str | None


def canonical(
    prev_hash: str, at: float, actor: str, role: str, site: str, action: str, target: str | None,
    details: Mapping[str, Any],
) -> bytes:
    body = [prev_hash, repr(float(at)), actor, role, site, action, target, dict(details)]
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(
    prev_hash: str, at: float, actor: str, role: str, site: str, action: str, target: str | None,
    details: Mapping[str, Any],
) -> str:
    return hashlib.sha256(canonical(prev_hash, at, actor, role, site, action, target, details)).hexdigest()


def row_hash(row: ChainRow) -> str:
    """What ``row.hash`` must be, given its content and its ``prev_hash``."""
    return entry_hash(row.prev_hash or "", row.at, row.actor, row.role, row.site, row.action, row.target,
                      row.details)


@dataclass(frozen=True, slots=True)
class Break:
    site: str
    entry_id: int
    problem: Problem

    def describe(self) -> str:
        what = {
            "edited": "was edited after it was written (its content does not match its hash)",
            "inserted": "was inserted out of chain (it does not follow the entry before it)",
            "deleted": "follows an entry that is missing (an entry before it was deleted or rewritten, "
                       "or it was inserted out of chain)",
        }[self.problem]
        return f"site {self.site or '(none)'}: audit entry {self.entry_id} {what}"


@dataclass
class SiteChain:
    site: str
    entries: int = 0
    head: str = GENESIS
    breaks: list[Break] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set, repr=False)  # a head recorded earlier must be here


@dataclass
class ChainReport:
    chains: dict[str, SiteChain] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(chain.breaks for chain in self.chains.values())

    @property
    def first_break(self) -> Break | None:
        found = [b for chain in self.chains.values() for b in chain.breaks]
        return min(found, key=lambda b: b.entry_id) if found else None


def verify_chain(rows: Iterable[ChainRow]) -> ChainReport:
    """Walk every site's chain in ``id`` order; record each site's first break (and carry on
    from the stored hash, so one break does not hide the head)."""
    by_site: dict[str, list[ChainRow]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        by_site.setdefault(row.site, []).append(row)
    report = ChainReport()
    for site, chain_rows in sorted(by_site.items()):
        chain = report.chains[site] = SiteChain(site, entries=len(chain_rows))
        expected = GENESIS
        for index, row in enumerate(chain_rows):
            following = chain_rows[index + 1] if index + 1 < len(chain_rows) else None
            problem = _problem(row, expected, following, chain.hashes)
            if problem is not None and not chain.breaks:
                chain.breaks.append(Break(site, row.id, problem))
            if problem == "inserted":
                continue  # the chain goes on from the entry before the intruder
            expected = row.hash or ""
            chain.hashes.add(expected)
        chain.head = expected
    return report


def _problem(row: ChainRow, expected_prev: str, following: ChainRow | None, earlier: set[str]) -> Problem | None:
    if row.hash is None or row.prev_hash is None:
        return "inserted"
    if row.prev_hash != expected_prev:
        forked = row.prev_hash in earlier or row.prev_hash == GENESIS  # hangs off an older entry
        skipped = following is not None and following.prev_hash == expected_prev  # the chain ignores it
        return "inserted" if forked or skipped else "deleted"
    if row_hash(row) != row.hash:
        return "edited"
    return None
