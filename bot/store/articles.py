"""The article store: each story once, with its topics and story cluster.

Contract:
- An article is identified by its canonical URL, and within a source by its
  guid; storing the same item again updates it, never duplicates it.
- ``cluster_id`` is the id of the first article of the story; a new article
  starts its own cluster unless ``group`` names an existing one, and gets its
  cluster in the transaction that inserts it (no reader sees it without one).
- Article ids grow with insertion and are never given twice (AUTOINCREMENT on
  SQLite, a sequence on PostgreSQL), and they become visible in id order
  (one article writer at a time), so "newer than the chat's cursor" is a
  comparison of ids. All datetimes are aware UTC.
- An undated item is stored with its first fetch as ``published_at``
  (ingestion's rule, ``clamp_future``): ``published_at == fetched_at`` marks
  it. Its age says nothing about whether its feed still lists it.
- ``last_seen_at`` is when a poll last listed the article: every store sets
  it for all its items, new or already stored, so the rows of a source's
  latest listing share its highest ``last_seen_at`` (a 304 keeps that listing).
- Neither pruning deletes an undated article its feed still lists, so no item
  is stored twice as new: ``prune`` keeps it while it is in the latest listing
  or was listed within the window, and the per-source cap never deletes an
  item of the store that applies it.
- With ``keep``, a source keeps at most that many articles: a store that adds
  new ones deletes, in the same transaction, the oldest stored (lowest ids) of
  the source's articles this store did not list, so a feed flooding new items
  costs a bounded table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.dialect import IN_LIST_CHUNK, lock_article_writes
from bot.store.records import Article
from bot.store.schema import article_topics, articles, sources


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


# ``group`` of store: the new items (with their ids) -> article id -> cluster id
# of the earlier story each joins; items it leaves out start their own story.
GroupNew = Callable[[Sequence[StoredItem]], Mapping[int, int]]


class ArticleRepository:
    """Reads and writes articles and their topics."""

    def __init__(self, engine: AsyncEngine, write_turn: asyncio.Lock) -> None:
        self._engine = engine
        self._write_turn = write_turn  # Store.write_turn

    async def store(
        self,
        source_id: int,
        items: Sequence[ArticleInput],
        fetched_at: datetime,
        *,
        group: GroupNew | None = None,
        keep: int | None = None,
    ) -> list[StoredItem]:
        """Insert new items and update changed ones, in one transaction; results in item order.

        ``group`` (e.g. the story grouper's assign) is called inside the
        transaction with the new items once they have ids; its answer sets
        their clusters before the transaction commits. ``keep``: when items
        were added, the source's oldest articles not among ``items`` are
        deleted until it has at most ``keep``. Every item's ``last_seen_at``
        becomes ``fetched_at``.
        """
        unique = _dedupe(items)
        if not unique:
            return []
        async with self._write_turn, self._engine.begin() as conn:
            await lock_article_writes(conn)
            existing = await _existing(conn, source_id, unique)
            outcomes: dict[str, StoredItem] = {}
            fresh: list[ArticleInput] = []
            for item in unique:
                row = existing.get(("guid", item.guid or ""))
                if row is None:
                    row = existing.get(("url", item.url))
                if row is None:
                    fresh.append(item)
                else:
                    outcomes[item.url] = await _refresh(conn, row, item)
            seen = {s.article_id for s in outcomes.values()}
            await _mark_seen(conn, seen, fetched_at)
            new_items = await _insert(conn, source_id, fetched_at, fresh)
            joined = group(new_items) if group is not None and new_items else {}
            await _set_clusters(conn, new_items, joined)
            await _insert_topics(conn, new_items)
            if keep is not None and new_items:
                seen.update(s.article_id for s in new_items)
                await _prune_source(conn, source_id, keep, seen)
        outcomes.update((s.input.url, s) for s in new_items)
        return [outcomes[item.url] for item in unique]

    async def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Those of ``urls`` already stored (by any source)."""
        known: set[str] = set()
        async with self._engine.connect() as conn:
            for chunk in _chunks(urls):
                stmt = select(articles.c.url).where(articles.c.url.in_(chunk))
                known.update((await conn.execute(stmt)).scalars())
        return known

    async def recent_signatures(
        self, since: datetime, *, after_id: int = 0
    ) -> list[RecentSignature]:
        """Signatures of articles published since ``since`` (for story grouping), of
        ids above ``after_id`` only when given."""
        stmt = select(
            articles.c.id, articles.c.cluster_id, articles.c.source_id, articles.c.signature
        ).where(
            articles.c.published_at >= since,
            articles.c.signature != "",
            articles.c.id > after_id,
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [RecentSignature(r.id, r.cluster_id or r.id, r.source_id, r.signature) for r in rows]

    async def candidates(
        self, topics: Iterable[str], *, after_id: int, since: datetime, limit: int = 2000
    ) -> list[Article]:
        """Articles in any of ``topics`` above the cursor ``after_id``, fetched since
        ``since``, newest first: new stories, and new articles of older stories (the
        digest shows those as updates)."""
        where = and_(articles.c.id > after_id, articles.c.fetched_at >= since)
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

    async def count(self) -> int:
        """How many articles are stored."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(articles))).scalar() or 0

    async def prune(self, before: datetime) -> int:
        """Delete the articles that aged out by ``before``; returns how many.

        A dated article goes once published before then (ingestion never
        stores it again). An undated one goes once no poll listed it since
        then and its feed's latest listing leaves it out: while a feed lists
        it, even unchanged (304) for weeks, deleting it would make the next
        poll store it again as new.
        """
        seen = articles.alias("seen")
        latest_listing = (
            select(func.max(seen.c.last_seen_at))
            .where(seen.c.source_id == articles.c.source_id)
            .scalar_subquery()
        )
        dated = articles.c.published_at != articles.c.fetched_at
        unlisted = and_(articles.c.last_seen_at < before, articles.c.last_seen_at < latest_listing)
        old = and_(articles.c.published_at < before, or_(dated, unlisted))
        async with self._write_turn, self._engine.begin() as conn:
            result = await conn.execute(delete(articles).where(old))
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
    """The items in order, each URL and each guid once (the first one wins)."""
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


def _chunks(values: Sequence[Any], size: int = IN_LIST_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_AnyRow = Row[*tuple[Any, ...]]
_Existing = dict[tuple[str, str], _AnyRow]
_EXISTING_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.guid,
    articles.c.headline,
    articles.c.summary,
)


async def _existing(
    conn: AsyncConnection, source_id: int, items: Sequence[ArticleInput]
) -> _Existing:
    """Stored rows by ("url", url), any source's, and by ("guid", guid), this source's."""
    found: _Existing = {}
    for urls in _chunks([i.url for i in items]):
        stmt = select(*_EXISTING_COLUMNS).where(articles.c.url.in_(urls))
        for row in (await conn.execute(stmt)).all():
            found[("url", row.url)] = row
    for guids in _chunks([i.guid for i in items if i.guid]):
        stmt = select(*_EXISTING_COLUMNS).where(
            articles.c.source_id == source_id, articles.c.guid.in_(guids)
        )
        for row in (await conn.execute(stmt)).all():
            found[("guid", row.guid)] = row
    return found


async def _refresh(conn: AsyncConnection, row: _AnyRow, item: ArticleInput) -> StoredItem:
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
    conn: AsyncConnection, source_id: int, fetched_at: datetime, items: Sequence[ArticleInput]
) -> list[StoredItem]:
    """Insert the rows (no cluster yet) and give each item its new id, in item order."""
    if not items:
        return []
    rows = [
        {
            "source_id": source_id,
            "guid": i.guid,
            "url": i.url,
            "headline": i.headline,
            "summary": i.summary,
            "signature": i.signature,
            "published_at": i.published_at,
            "fetched_at": fetched_at,
            "last_seen_at": fetched_at,
        }
        for i in items
    ]
    # Matched back by URL (unique) rather than asking for RETURNING in parameter order:
    # on SQLite that order costs one INSERT per row, this is one multi-row INSERT.
    stmt = insert(articles).returning(articles.c.id, articles.c.url)
    ids = {row.url: row.id for row in await conn.execute(stmt, rows)}
    return [StoredItem(ids[i.url], "new", i) for i in items]


async def _set_clusters(
    conn: AsyncConnection, new_items: Sequence[StoredItem], joined: Mapping[int, int]
) -> None:
    """Every new row's cluster: the story ``joined`` names, else its own id."""
    own = [s.article_id for s in new_items if s.article_id not in joined]
    for ids in _chunks(own):
        await conn.execute(
            update(articles).where(articles.c.id.in_(ids)).values(cluster_id=articles.c.id)
        )
    if joined:
        await _move_to_clusters(conn, joined)


async def _mark_seen(conn: AsyncConnection, ids: set[int], fetched_at: datetime) -> None:
    """The stored articles a poll listed again were last seen at ``fetched_at``."""
    for chunk in _chunks(sorted(ids)):
        await conn.execute(
            update(articles).where(articles.c.id.in_(chunk)).values(last_seen_at=fetched_at)
        )


async def _prune_source(conn: AsyncConnection, source_id: int, keep: int, seen: set[int]) -> None:
    """Delete the source's oldest (by id: insertion) articles until it has ``keep``.

    The articles of this store (``seen``) are never deleted: a deleted item its
    feed still lists would come back as new on the next poll. By id, not by
    date, so a feed backdating what it sends cannot make the store prune them.
    The source holds at most ``keep`` plus one poll's items: its ids are read.
    """
    stmt = select(articles.c.id).where(articles.c.source_id == source_id)
    ids = list((await conn.execute(stmt.order_by(articles.c.id.desc()))).scalars())
    if len(ids) <= keep:
        return
    unseen = [i for i in ids if i not in seen]
    room = max(0, keep - (len(ids) - len(unseen)))
    for chunk in _chunks(unseen[room:]):
        await conn.execute(delete(articles).where(articles.c.id.in_(chunk)))


async def _move_to_clusters(conn: AsyncConnection, clusters: Mapping[int, int]) -> None:
    """Article id -> cluster id, one executemany."""
    stmt = (
        update(articles)
        .where(articles.c.id == bindparam("article"))
        .values(cluster_id=bindparam("cluster"))
    )
    rows = [{"article": a, "cluster": c} for a, c in clusters.items()]
    await conn.execute(stmt, rows)


async def _insert_topics(conn: AsyncConnection, new_items: Sequence[StoredItem]) -> None:
    rows = [
        {"article_id": s.article_id, "topic_id": topic}
        for s in new_items
        for topic in dict.fromkeys(s.input.topics)
    ]
    if rows:
        await conn.execute(insert(article_topics), rows)


def _article_select() -> Any:
    return select(articles, sources.c.name.label("source_name")).join(
        sources, sources.c.id == articles.c.source_id
    )


async def _with_topics(conn: AsyncConnection, stmt: Any) -> list[Article]:
    rows = (await conn.execute(stmt)).all()
    topics: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), IN_LIST_CHUNK):
        tstmt = select(article_topics).where(
            article_topics.c.article_id.in_(ids[start : start + IN_LIST_CHUNK])
        )
        for row in (await conn.execute(tstmt.order_by(article_topics.c.topic_id))).all():
            topics.setdefault(row.article_id, []).append(row.topic_id)
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
