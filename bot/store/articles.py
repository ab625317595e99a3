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

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Row, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.dialect import (
    MAX_BIND_PARAMS,
    datetime_binder,
    order_article_inserts,
    placeholders,
    reserve_article_ids,
    row_placeholders,
)
from bot.store.records import Article
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
class SourceItems:
    """One source's items for :meth:`ArticleRepository.store_many`."""

    source_id: int
    items: Sequence[ArticleInput]
    fetched_at: datetime


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
        return (await self.store_many([SourceItems(source_id, items, fetched_at)]))[0]

    async def store_many(
        self, batches: Sequence[SourceItems], *, group: GroupNew | None = None
    ) -> list[list[StoredItem]]:
        """:meth:`store` for several sources in one transaction, results in the order given.

        The outcome is that of storing the sources one after another: a source
        sharing a URL with an earlier one of the batch is stored after it, so it
        finds that article as existing. A handful of statements per batch
        instead of per source is what makes a 1,000-feed cycle cheap.

        ``group``, given the new items of each source (in order) once they have
        ids, answers which join an earlier story: article id -> cluster id. Their
        cluster is then written with everyone else's, in the same transaction, so
        no article is written twice and none is ever seen without a cluster.
        """
        unique = [_dedupe(batch.items) for batch in batches]
        results: list[list[StoredItem]] = [[] for _ in batches]
        if not any(unique):
            return results
        async with self._engine.begin() as conn:
            await order_article_inserts(conn)
            for indexes in _rounds(unique):
                entries = [(batches[i], unique[i]) for i in indexes]
                stored = await _store_round(conn, entries, group)
                for index, items in zip(indexes, stored, strict=True):
                    results[index] = items
        return results

    async def set_clusters(self, clusters: Mapping[int, int]) -> None:
        """Move articles into the given clusters (article id -> cluster id)."""
        if not clusters:
            return
        async with self._engine.begin() as conn:
            await _move_to_clusters(conn, clusters)

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


def _rounds(unique: Sequence[Sequence[ArticleInput]]) -> list[list[int]]:
    """Batch indexes in rounds: a source goes one round after the last earlier source
    it shares a URL with, so every round's sources are independent of each other.
    """
    round_of_url: dict[str, int] = {}
    rounds: list[list[int]] = []
    for index, items in enumerate(unique):
        number = 1 + max((round_of_url.get(i.url, -1) for i in items), default=-1)
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(index)
        for item in items:
            round_of_url[item.url] = number
    return rounds


_Entry = tuple[SourceItems, list[ArticleInput]]
# ``group`` of store_many: each source's new items -> article id -> cluster id.
GroupNew = Callable[[Sequence[tuple[int, Sequence[StoredItem]]]], Awaitable[Mapping[int, int]]]
_Existing = dict[tuple[str, int, str], Row[Any]]


async def _store_round(
    conn: AsyncConnection, entries: Sequence[_Entry], group: GroupNew | None
) -> list[list[StoredItem]]:
    """Store sources whose URLs do not overlap: existing items refreshed, the rest inserted."""
    existing = await _existing(conn, entries)
    results: list[list[StoredItem]] = []
    fresh: list[list[ArticleInput]] = []
    for batch, items in entries:
        result: list[StoredItem] = []
        new: list[ArticleInput] = []
        for item in items:
            row = _match(existing, batch.source_id, item)
            if row is None:
                new.append(item)
            else:
                result.append(await _refresh(conn, row, item))
        results.append(result)
        fresh.append(new)
    inserted = await _insert(
        conn, [(batch, new) for (batch, _), new in zip(entries, fresh, strict=True)], group
    )
    return [result + new for result, new in zip(results, inserted, strict=True)]


_EXISTING_COLUMNS = "id, url, guid, source_id, headline, summary"


async def _existing(conn: AsyncConnection, entries: Sequence[_Entry]) -> _Existing:
    """Stored rows by ("url", 0, url) and by ("guid", source id, guid)."""
    urls = [i.url for _, items in entries for i in items]
    guids = list({i.guid for _, items in entries for i in items if i.guid})
    source_ids = list({batch.source_id for batch, _ in entries})
    found: _Existing = {}
    dialect = conn.dialect
    for chunk in _chunks(urls):
        marks = placeholders(dialect, 1, len(chunk))
        sql = f"SELECT {_EXISTING_COLUMNS} FROM articles WHERE url IN {marks}"
        for row in (await conn.exec_driver_sql(sql, tuple(chunk))).all():
            found[("url", 0, row.url)] = row
    for chunk in _chunks(guids):
        marks = row_placeholders(dialect, len(source_ids) + len(chunk))
        in_sources = ", ".join(marks[: len(source_ids)])
        in_guids = ", ".join(marks[len(source_ids) :])
        sql = (
            f"SELECT {_EXISTING_COLUMNS} FROM articles "
            f"WHERE source_id IN ({in_sources}) AND guid IN ({in_guids})"
        )
        for row in (await conn.exec_driver_sql(sql, (*source_ids, *chunk))).all():
            found[("guid", row.source_id, row.guid)] = row
    return found


def _match(existing: _Existing, source_id: int, item: ArticleInput) -> Row[Any] | None:
    if item.guid and ("guid", source_id, item.guid) in existing:
        return existing[("guid", source_id, item.guid)]
    return existing.get(("url", 0, item.url))


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


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


# The hot inserts go as driver SQL with tuples (see bot.store.dialect): SQLAlchemy's
# per-row parameter processing cost more than SQLite's own work here.
_ARTICLE_COLUMNS = (
    "id",
    "source_id",
    "guid",
    "url",
    "headline",
    "summary",
    "signature",
    "published_at",
    "fetched_at",
    "cluster_id",
)
_INSERT_ROWS = MAX_BIND_PARAMS // len(_ARTICLE_COLUMNS)
_TOPIC_ROWS = 256  # rows a multi-row topic INSERT (~0.25 us a row against ~1 by executemany)


async def _insert(
    conn: AsyncConnection, entries: Sequence[_Entry], group: GroupNew | None
) -> list[list[StoredItem]]:
    """Insert every source's new items, each row written once with its story cluster.

    The ids are reserved first, so ``group`` sees the new items with their ids
    before anything is written, and a row goes in with its cluster (the story it
    joined, or its own id): no second write of 40,000 rows a cold cycle.
    """
    if not any(items for _, items in entries):
        return [[] for _ in entries]
    planned = await _with_reserved_ids(conn, entries)
    joined: Mapping[int, int] = {}
    if group is not None:
        joined = await group(
            [(batch.source_id, items) for (batch, _), items in zip(entries, planned, strict=True)]
        )
    inserted = await _insert_rows(conn, entries, planned, joined)
    stored = [[s for s in items if s.article_id in inserted] for items in planned]
    if len(inserted) < sum(map(len, planned)):
        await _leave_skipped_stories(conn, planned, inserted, joined)
    await _insert_topics(conn, stored)
    return stored


async def _with_reserved_ids(
    conn: AsyncConnection, entries: Sequence[_Entry]
) -> list[list[StoredItem]]:
    """Each source's new items as "new" StoredItems, with ids reserved in item order."""
    ids = iter(await reserve_article_ids(conn, sum(len(items) for _, items in entries)))
    return [[StoredItem(next(ids), "new", i) for i in items] for _, items in entries]


async def _insert_rows(
    conn: AsyncConnection,
    entries: Sequence[_Entry],
    planned: Sequence[Sequence[StoredItem]],
    joined: Mapping[int, int],
) -> set[int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the ids of the rows written. A URL
    another writer stored meanwhile is skipped, so it is not ours.
    """
    as_datetime = datetime_binder(conn.dialect)
    rows: list[tuple[Any, ...]] = []
    for (batch, _), items in zip(entries, planned, strict=True):
        source_id, fetched_at = batch.source_id, as_datetime(batch.fetched_at)
        for stored in items:
            article_id, i = stored.article_id, stored.input
            cluster_id = joined.get(article_id, article_id)
            published_at = as_datetime(i.published_at)
            rows.append(
                (
                    *(article_id, source_id, i.guid, i.url, i.headline, i.summary),
                    *(i.signature, published_at, fetched_at, cluster_id),
                )
            )
    columns = ", ".join(_ARTICLE_COLUMNS)
    inserted: set[int] = set()
    for chunk in _chunks(rows, _INSERT_ROWS):
        marks = placeholders(conn.dialect, len(chunk), len(_ARTICLE_COLUMNS))
        sql = f"INSERT INTO articles ({columns}) VALUES {marks} ON CONFLICT DO NOTHING RETURNING id"
        result = await conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))
        inserted.update(row[0] for row in result.all())
    return inserted


async def _leave_skipped_stories(
    conn: AsyncConnection,
    planned: Sequence[Sequence[StoredItem]],
    inserted: set[int],
    joined: Mapping[int, int],
) -> None:
    """Rows that joined the story of a row that was skipped start their own instead."""
    skipped = {s.article_id for items in planned for s in items} - inserted
    orphans = [a for a, cluster in joined.items() if cluster in skipped and a in inserted]
    for chunk in _chunks(orphans):
        marks = placeholders(conn.dialect, 1, len(chunk))
        sql = f"UPDATE articles SET cluster_id = id WHERE id IN {marks}"
        await conn.exec_driver_sql(sql, tuple(chunk))


async def _insert_topics(conn: AsyncConnection, stored: Sequence[Sequence[StoredItem]]) -> None:
    """Topic rows in statements of _TOPIC_ROWS rows, the rest one row at a time: two
    statements only, so the driver's statement cache keeps two compiled programs
    (one for every distinct row count cost ~17 MB a cold benchmark cycle).
    """
    topic_rows = [(s.article_id, t) for items in stored for s in items for t in s.input.topics]
    whole = len(topic_rows) - len(topic_rows) % _TOPIC_ROWS
    sql = "INSERT INTO article_topics (article_id, topic_id) VALUES {} ON CONFLICT DO NOTHING"
    many = sql.format(placeholders(conn.dialect, _TOPIC_ROWS, 2))
    for start in range(0, whole, _TOPIC_ROWS):
        chunk = topic_rows[start : start + _TOPIC_ROWS]
        await conn.exec_driver_sql(many, tuple(chain.from_iterable(chunk)))
    if whole < len(topic_rows):
        one = sql.format(placeholders(conn.dialect, 1, 2))
        await conn.exec_driver_sql(one, topic_rows[whole:])


async def _move_to_clusters(conn: AsyncConnection, clusters: Mapping[int, int]) -> None:
    """Article id -> cluster id, one prebuilt UPDATE for all."""
    cluster, article = row_placeholders(conn.dialect, 2)
    sql = f"UPDATE articles SET cluster_id = {cluster} WHERE id = {article}"
    await conn.exec_driver_sql(sql, [(c, a) for a, c in clusters.items()])


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
