"""Fan-out benchmark: plan the 08:00 digest for 100,000 chats over 10 topics and 200 stories.

    .venv/bin/python -m bench.fanout                      # SQLite, 3 runs
    .venv/bin/python -m bench.fanout --database-url postgresql://postgres@127.0.0.1:5432/postgres

With a PostgreSQL URL, every run creates (and drops) a fresh database next to
the one named. Each run seeds a fresh database, then a child process runs
``DigestPlanner.plan_due()`` alone, so its peak RSS is the planner's, not the
seeding's. Timed: select + render + write every digest and delivery row.
Prints one JSON line per run and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.digest.planner import DigestPlanner
from bot.digest.select import tokenize
from bot.settings import DeliverySettings, Settings, TopicConfig
from bot.store import open_store
from bot.store.articles import ArticleInput
from bot.store.schema import chats, deliveries, digests, subscriptions

TOPIC_IDS = [f"topic{n}" for n in range(10)]
ZONES = ["UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
WORDS = ["election", "storm", "market", "football", "court", "climate", "energy", "health"]
SEED_CHUNK = 5_000


def bench_settings() -> Settings:
    """Ten topics, no sources (the TOML's sources name topics this benchmark lacks)."""
    topics = [TopicConfig(id=t, name=f"Topic {t[-1]}") for t in TOPIC_IDS]
    return Settings(topics=topics, sources=[], stories_per_topic=5, delivery=DeliverySettings())


# ---- seeding ---------------------------------------------------------------------------


async def seed(database_url: str, chat_count: int, story_count: int, now: datetime) -> None:
    """A fresh schema, ``story_count`` recent stories and ``chat_count`` chats due now."""
    store = await open_store(database_url)
    try:
        [source] = await store.sources.sync([("Wire", "https://wire.example/rss", "feed")])
        await store.articles.store(source.id, _stories(story_count, now), fetched_at=now)
        rng = random.Random(7)
        for start in range(0, chat_count, SEED_CHUNK):
            rows = [
                _chat_row(n, rng, now) for n in range(start, min(start + SEED_CHUNK, chat_count))
            ]
            async with store.engine.begin() as conn:
                await conn.execute(insert(chats), [row for row, _ in rows])
                ids = await _ids_of(conn, [row["telegram_id"] for row, _ in rows])
                subs = [
                    {"chat_id": ids[row["telegram_id"]], "topic_id": t, "created_at": now}
                    for row, topics in rows
                    for t in topics
                ]
                await conn.execute(insert(subscriptions), subs)
    finally:
        await store.close()


def _stories(count: int, now: datetime) -> list[ArticleInput]:
    rng = random.Random(3)
    return [
        ArticleInput(
            url=f"https://wire.example/story/{n}",
            headline=f"{rng.choice(WORDS).title()} update number {n} from the newsroom",
            summary=" ".join(rng.choice(WORDS) for _ in range(40)) + ".",
            published_at=now - timedelta(minutes=5 * n),
            topics=(TOPIC_IDS[n % len(TOPIC_IDS)],),
        )
        for n in range(count)
    ]


def _chat_row(n: int, rng: random.Random, now: datetime) -> tuple[dict[str, Any], list[str]]:
    topics = rng.sample(TOPIC_IDS, rng.choice((1, 1, 2, 2, 3)))
    filtered = rng.random() < 0.05  # 5 % of chats use keyword filters
    row = {
        "telegram_id": 10_000_000 + n,
        "thread_id": 0,
        "kind": "private",
        "title": f"user {n}",
        "timezone": rng.choice(ZONES),
        "digest_times": ["08:00"],
        "mode": "scheduled",
        "is_paused": False,
        "is_active": True,
        "include_words": [],
        "exclude_words": [rng.choice(WORDS)] if filtered else [],
        "next_digest_at": now - timedelta(minutes=1),
        "last_digest_at": now - timedelta(hours=20),
        "cursor_article_id": 0,
        "created_at": now,
        "updated_at": now,
    }
    return row, topics


async def _ids_of(conn: Any, telegram_ids: list[int]) -> dict[int, int]:
    stmt = select(chats.c.telegram_id, chats.c.id).where(
        chats.c.telegram_id.between(min(telegram_ids), max(telegram_ids))
    )
    return {t: i for t, i in (await conn.execute(stmt)).all()}


# ---- the timed part (child process) ------------------------------------------------------


async def plan_once(database_url: str) -> dict[str, Any]:
    """Run plan_due once on a seeded database; time it and count what it wrote."""
    store = await open_store(database_url, migrate=False)
    try:
        planner = DigestPlanner(store, bench_settings(), lambda: datetime.now(UTC))
        tokenize("warm up")  # the word pattern compiles once per process (~0.8 s), not per plan
        started = time.perf_counter()
        await planner.plan_due()
        seconds = time.perf_counter() - started
        chats_planned, rendered = planner.memo_stats()
        async with store.engine.connect() as conn:
            digest_rows = (await conn.execute(select(func.count()).select_from(digests))).scalar()
            part_rows = (await conn.execute(select(func.count()).select_from(deliveries))).scalar()
    finally:
        await store.close()
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "digests": digest_rows,
        "deliveries": part_rows,
        "chats_planned": chats_planned,
        "digests_rendered": rendered,
    }


def run_child(database_url: str) -> dict[str, Any]:
    """plan_once in a fresh interpreter (clean peak RSS)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--plan-only", "--database-url", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- fresh databases ----------------------------------------------------------------------


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_database(base_url: str | None, workdir: Path, run: int) -> tuple[str, str | None]:
    """(url, name of a PostgreSQL database to drop afterwards or None)."""
    if base_url is None or base_url.startswith("sqlite"):
        return f"sqlite:///{workdir / f'fanout-{run}.db'}", None
    name = f"newsbot_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(base_url, f'CREATE DATABASE "{name}"'))
    return base_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(base_url: str, name: str | None) -> None:
    if name is not None:
        asyncio.run(_pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.fanout``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plan_only:
        print(json.dumps(asyncio.run(plan_once(args.database_url))))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            url, name = fresh_database(args.database_url, Path(tmp), run)
            try:
                asyncio.run(seed(url, args.chats, args.stories, datetime.now(UTC)))
                results.append(run_child(url))
            finally:
                drop_database(args.database_url or "", name)
            print(json.dumps(results[-1]), flush=True)
    for key in ("seconds", "peak_rss_mb"):
        print(f"median {key}: {statistics.median(r[key] for r in results)}")


if __name__ == "__main__":
    main()
