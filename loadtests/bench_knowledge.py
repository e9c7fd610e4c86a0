"""Knowledge search benchmark: ``python -m loadtests.bench_knowledge --json PATH [--quick]``.

Seeds published articles (English and Chinese, half each; 100,000, or 5,000 with ``--quick``)
straight into a SQLite business database, then runs 100 concurrent searches at a time through
:class:`central.knowledge.service.KnowledgeService` (FTS5 trigram, bm25 plus the boost,
snippets) and reports ``search_ms_p99``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from central.business.db import BusinessDb, migrate
from central.knowledge.service import KnowledgeService
from central.knowledge.store import KnowledgeStore, search_text, tag_text
from cluster.clock import SYSTEM_CLOCK

EN = ("refund", "fare", "driver", "lost", "wallet", "phone", "receipt", "invoice", "coupon", "payment", "card",
      "account", "login", "airport", "pickup", "cancel", "surge", "rating", "safety", "insurance")  # fmt: skip
ZH = ("退款", "车费", "司机", "丢失", "钱包", "手机", "发票", "优惠券", "支付", "银行卡", "账户", "登录", "机场",
      "接送", "取消", "评分", "安全", "保险", "行程", "投诉")  # fmt: skip
QUERIES = ("refund fare", "lost wallet", "airport pickup", "invoice", "coupon payment", "driv", "申请退款",
           "钱包丢失", "机场接送", "发票", "取消行程")  # fmt: skip
CONCURRENCY = 100


def seed(path: str, articles: int, rng: random.Random) -> None:
    with sqlite3.connect(path) as db:
        rows, versions, fts = [], [], []
        for i in range(1, articles + 1):
            zh = i % 2 == 0
            words, sep = (ZH, "") if zh else (EN, " ")
            title = sep.join(rng.sample(words, 3))
            body = sep.join(rng.choice(words) for _ in range(60))
            questions = [sep.join(rng.sample(words, 4))]
            tags = {"skill": rng.choice(("billing", "lost_found", "safety")), "product": "rides"}
            rows.append((i, "article", "zh" if zh else "en", 1, 1, rng.randint(0, 500), rng.randint(0, 20),
                         rng.randint(0, 20), "seed", 0.0, 0.0, 1))  # fmt: skip
            versions.append((i, 1, "published", title, body, json.dumps(questions), json.dumps(tags),
                             search_text(title, questions, body), tag_text(tags), "seed", 0.0, 0.0))  # fmt: skip
            fts.append((i, title, "\n".join(questions), body, "zh" if zh else "en", tag_text(tags)))
        db.executemany(
            "INSERT INTO kb_articles (id, kind, lang, published, latest, views, helpful, unhelpful, "
            "created_by, created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT INTO kb_versions (article_id, number, state, title, body, questions, tags, "
            "search_text, tag_text, author, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            versions,
        )
        db.executemany("INSERT INTO kb_fts (rowid, title, questions, body, lang, tags) VALUES (?,?,?,?,?,?)", fts)


async def _timed(service: KnowledgeService, query: str, lang: str | None) -> float:
    started = time.perf_counter()
    await service.search(query, [], lang, 10)
    return (time.perf_counter() - started) * 1000


async def search_ms(articles: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(22)
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/business.db"
        await migrate(url)
        started = time.perf_counter()
        seed(f"{tmp}/business.db", articles, rng)
        seeded_s = time.perf_counter() - started
        db = BusinessDb(url)
        try:
            service = KnowledgeService(KnowledgeStore(db.sessions, db.reads), SYSTEM_CLOCK)
            times: list[float] = []
            started = time.perf_counter()
            for _ in range(rounds):
                batch = [rng.choice(QUERIES) for _ in range(CONCURRENCY)]
                times += await asyncio.gather(*(_timed(service, q, rng.choice((None, "en", "zh"))) for q in batch))
            elapsed = time.perf_counter() - started
        finally:
            await db.close()
    times.sort()
    return {"articles": articles, "concurrency": CONCURRENCY, "searches": len(times),
            "search_ms_p50": round(statistics.median(times), 1),
            "search_ms_p99": round(times[int(len(times) * 0.99) - 1], 1),
            "searches_per_s": round(len(times) / elapsed, 1), "seed_s": round(seeded_s, 1),
            "backend": "sqlite-fts5-trigram"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--quick", action="store_true", help="5,000 articles instead of 100,000")
    args = parser.parse_args(argv)
    result = asyncio.run(search_ms(5_000 if args.quick else 100_000, 5)) | {"quick": args.quick}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
