"""The article store: each story once, with its topics and story cluster.

Contract:
- An article is identified by its canonical URL, and within a source by its
  guid; storing the same item again updates it, never duplicates it.
- ``cluster_id`` is the id of the first article of the story; a new article
  starts its own cluster unless the caller names an existing one.
- Article ids grow with insertion, so "newer than the chat's cursor" is a
  comparison of ids; all datetimes are aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.dialect import insert_ignore
from bot.store.models import Article
from bot.store.schema import article_topics, articles, sources

CHUNK = 500


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """What ingestion hands the store for one item."""

    url: str
    headline: str
    summary: str
    published_at: datetime
    topics: tuple[str, ...]
    guid: str | None = None
    signature: str = ""


@dataclass(frozen=True, slots=True)
class StoredItem:
    """The outcome for one input: its article id and whether it was new or changed."""

    article_id: int
    status: str  # "new" | "updated" | "unchanged"
    input: ArticleInput


@dataclass(frozen=True, slots=True)
class RecentSignature:
    """A recent article's story signature, for grouping new articles with it."""

    article_id: int
    cluster_id: int
    source_id: int
    signature: str


class ArticleRepository:
    """Reads and writes articles and their topics."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store(
        self, source_id: int, items: Sequence[ArticleInput], fetched_at: datetime
    ) -> list[StoredItem]:
        """Insert new items and update changed ones, in one transaction."""
        items = _dedupe(items)
        if not items:
            return []
        async with self._engine.begin() as conn:
            existing = await _existing(conn, source_id, items)
            result: list[StoredItem] = []
            fresh = [i for i in items if _match(existing, i) is None]
            for item in items:
                row = _match(existing, item)
                if row is not None:
                    result.append(await _refresh(conn, row, item))
            result += await _insert(conn, source_id, fresh, fetched_at)
        return result

    async def set_clusters(self, clusters: Mapping[int, int]) -> None:
        """Move articles into the given clusters (article id -> cluster id)."""
        if not clusters:
            return
        stmt = (
            update(articles)
            .where(articles.c.id == bindparam("aid"))
            .values(cluster_id=bindparam("cid"))
        )
        rows = [{"aid": a, "cid": c} for a, c in clusters.items()]
        async with self._engine.begin() as conn:
            await conn.execute(stmt, rows)

    async def recent_signatures(self, since: datetime) -> list[RecentSignature]:
        """Signatures of articles published since ``since`` (for story grouping)."""
        stmt = select(
            articles.c.id, articles.c.cluster_id, articles.c.source_id, articles.c.signature
        ).where(articles.c.published_at >= since, articles.c.signature != "")
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [RecentSignature(r.id, r.cluster_id or r.id, r.source_id, r.signature) for r in rows]

    async def candidates(
        self, topics: Iterable[str], *, after_cluster_id: int, since: datetime, limit: int = 2000
    ) -> list[Article]:
        """Articles in any of ``topics`` whose story is newer than the cursor.

        Only stories whose cluster id is above ``after_cluster_id`` and that
        were fetched since ``since``, newest first.
        """
        where = and_(articles.c.cluster_id > after_cluster_id, articles.c.fetched_at >= since)
        return await self._by_topics(list(topics), where, limit)

    async def recent(
        self, topics: Iterable[str], *, since: datetime, limit: int = 200
    ) -> list[Article]:
        """Articles in any of ``topics`` published since ``since``, newest first."""
        return await self._by_topics(list(topics), articles.c.published_at >= since, limit)

    async def search(self, words: Sequence[str], *, limit: int = 10) -> list[Article]:
        """The most recent articles whose headline or summary contains every word."""
        conditions = [
            or_(
                func.lower(articles.c.headline).contains(w.lower(), autoescape=True),
                func.lower(articles.c.summary).contains(w.lower(), autoescape=True),
            )
            for w in words
        ]
        async with self._engine.connect() as conn:
            stmt = _article_select().where(and_(*conditions))
            return await _with_topics(
                conn, stmt.order_by(articles.c.published_at.desc()).limit(limit)
            )

    async def max_id(self) -> int:
        """The highest article id (0 for an empty store)."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.max(articles.c.id)))).scalar() or 0

    async def count(self) -> int:
        """How many articles are stored."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(articles))).scalar() or 0

    async def prune(self, published_before: datetime) -> int:
        """Delete articles published before the given time; returns how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(articles).where(articles.c.published_at < published_before)
            )
        return result.rowcount or 0

    async def _by_topics(self, topics: list[str], where: Any, limit: int) -> list[Article]:
        if not topics:
            return []
        in_topics = (
            select(article_topics.c.article_id).where(article_topics.c.topic_id.in_(topics))
        ).scalar_subquery()
        stmt = (
            _article_select()
            .where(where, articles.c.id.in_(in_topics))
            .order_by(articles.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return await _with_topics(conn, stmt)


def _dedupe(items: Sequence[ArticleInput]) -> list[ArticleInput]:
    seen: set[str] = set()
    seen_guid: set[str] = set()
    unique = []
    for item in items:
        if item.url in seen or (item.guid and item.guid in seen_guid):
            continue
        seen.add(item.url)
        if item.guid:
            seen_guid.add(item.guid)
        unique.append(item)
    return unique


async def _existing(
    conn: AsyncConnection, source_id: int, items: Sequence[ArticleInput]
) -> dict[tuple[str, str], Row[Any]]:
    urls = [i.url for i in items]
    guids = [i.guid for i in items if i.guid]
    found: dict[tuple[str, str], Row[Any]] = {}
    cols = select(
        articles.c.id,
        articles.c.url,
        articles.c.guid,
        articles.c.source_id,
        articles.c.headline,
        articles.c.summary,
        articles.c.published_at,
    )
    for start in range(0, len(urls), CHUNK):
        for row in (
            await conn.execute(cols.where(articles.c.url.in_(urls[start : start + CHUNK])))
        ).all():
            found[("url", row.url)] = row
    for start in range(0, len(guids), CHUNK):
        chunk = guids[start : start + CHUNK]
        where = and_(articles.c.source_id == source_id, articles.c.guid.in_(chunk))
        for row in (await conn.execute(cols.where(where))).all():
            found[("guid", row.guid)] = row
    return found


def _match(existing: Mapping[tuple[str, str], Row[Any]], item: ArticleInput) -> Row[Any] | None:
    if item.guid and ("guid", item.guid) in existing:
        return existing[("guid", item.guid)]
    return existing.get(("url", item.url))


async def _refresh(conn: AsyncConnection, row: Row[Any], item: ArticleInput) -> StoredItem:
    changed = row.headline != item.headline or row.summary != item.summary
    if not changed:
        return StoredItem(row.id, "unchanged", item)
    # Keep the first-seen URL and publish time: they identify the story.
    await conn.execute(
        update(articles)
        .where(articles.c.id == row.id)
        .values(headline=item.headline, summary=item.summary, signature=item.signature)
    )
    return StoredItem(row.id, "updated", item)


async def _insert(
    conn: AsyncConnection, source_id: int, items: Sequence[ArticleInput], fetched_at: datetime
) -> list[StoredItem]:
    if not items:
        return []
    rows = [_row(source_id, i, fetched_at) for i in items]
    # Another source may have stored the same URL meanwhile: ignore, don't fail.
    await conn.execute(insert_ignore(conn.dialect, articles), rows)
    ids = await _ids_by_url(conn, source_id, [i.url for i in items])
    stored = [StoredItem(ids[i.url], "new", i) for i in items if i.url in ids]
    await conn.execute(
        update(articles)
        .where(articles.c.id.in_([s.article_id for s in stored]), articles.c.cluster_id.is_(None))
        .values(cluster_id=articles.c.id)
    )
    topic_rows = [
        {"article_id": s.article_id, "topic_id": t} for s in stored for t in s.input.topics
    ]
    if topic_rows:
        await conn.execute(insert_ignore(conn.dialect, article_topics), topic_rows)
    return stored


async def _ids_by_url(conn: AsyncConnection, source_id: int, urls: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(urls), CHUNK):
        stmt = select(articles.c.url, articles.c.id).where(
            articles.c.source_id == source_id, articles.c.url.in_(urls[start : start + CHUNK])
        )
        found.update({url: aid for url, aid in (await conn.execute(stmt)).all()})
    return found


def _row(source_id: int, item: ArticleInput, fetched_at: datetime) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "guid": item.guid,
        "url": item.url,
        "headline": item.headline,
        "summary": item.summary,
        "signature": item.signature,
        "published_at": item.published_at,
        "fetched_at": fetched_at,
    }


def _article_select() -> Any:
    return select(articles, sources.c.name.label("source_name")).join(
        sources, sources.c.id == articles.c.source_id
    )


async def _with_topics(conn: AsyncConnection, stmt: Any) -> list[Article]:
    rows = (await conn.execute(stmt)).all()
    topics: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), CHUNK):
        tstmt = select(article_topics).where(
            article_topics.c.article_id.in_(ids[start : start + CHUNK])
        )
        for aid, topic in (await conn.execute(tstmt.order_by(article_topics.c.topic_id))).all():
            topics.setdefault(aid, []).append(topic)
    return [article_from_row(r, tuple(topics.get(r.id, ()))) for r in rows]


def article_from_row(row: Row[Any], topics: tuple[str, ...]) -> Article:
    """Build an Article value from an ``articles`` row joined with its source name."""
    return Article(
        id=row.id,
        source_id=row.source_id,
        source_name=row.source_name,
        guid=row.guid,
        url=row.url,
        headline=row.headline,
        summary=row.summary,
        published_at=row.published_at,
        fetched_at=row.fetched_at,
        cluster_id=row.cluster_id or row.id,
        topics=topics,
    )
