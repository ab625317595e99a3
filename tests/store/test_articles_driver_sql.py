"""The article store's hot paths sent as driver SQL (bot.store.dialect), on SQLite and
PostgreSQL: they must write and return exactly what the SQLAlchemy statements did.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.dialects.sqlite import aiosqlite

from bot.store import Store, open_store
from bot.store.articles import ArticleInput, SourceItems, StoredItem, _insert
from bot.store.dialect import (
    datetime_binder,
    order_article_inserts,
    placeholders,
    reserve_article_ids,
    row_placeholders,
)
from bot.store.schema import article_topics, articles, sources
from bot.store.sources import FetchSuccess
from bot.store.types import UTCDateTime

NOW = datetime(2024, 5, 14, 19, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, clock=lambda: NOW)
    yield opened
    await opened.close()


def item(n: int, *, host: str = "news.example", guid: str | None = None) -> ArticleInput:
    return ArticleInput(
        url=f"https://{host}/story/{n}",
        headline=f"Headline {n}",
        summary=f"Summary {n}.",
        published_at=NOW - timedelta(minutes=n, microseconds=n % 3),
        topics=("world", "politics") if n % 2 else ("world",),
        guid=guid,
        signature=f"s1|name{n}|00ff{n:02x}",
    )


def random_datetimes(count: int) -> list[datetime]:
    rng = random.Random(7)
    zones = [
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(-timedelta(hours=8)),
    ]
    values = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    for _ in range(count):
        moment = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.randrange(3 * 10**9))
        moment = moment.replace(microsecond=rng.choice([0, rng.randrange(10**6)]))
        values.append(moment.astimezone(rng.choice(zones)))
    return values


@pytest.mark.parametrize("dialect", [aiosqlite.dialect(), asyncpg.dialect()], ids=["sqlite", "pg"])
def test_datetime_binder_gives_what_the_column_type_binds(dialect):
    general = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
    bind = datetime_binder(dialect)

    for value in random_datetimes(2000):
        assert bind(value) == general(value), value
    assert bind(None) is None
    with pytest.raises(ValueError, match="naive"):
        bind(datetime(2024, 5, 14, 8, 0))


def test_placeholders_follow_the_driver_paramstyle():
    assert placeholders(aiosqlite.dialect(), 2, 3) == "(?, ?, ?), (?, ?, ?)"
    assert placeholders(asyncpg.dialect(), 2, 2) == "($1, $2), ($3, $4)"
    assert row_placeholders(asyncpg.dialect(), 3) == ["$1", "$2", "$3"]


async def test_store_many_writes_every_column_topics_and_own_cluster(store: Store):
    first, second = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    batch = [
        SourceItems(first.id, [item(n, guid=f"g{n}") for n in range(5)], NOW),
        SourceItems(second.id, [item(n, host="other.example") for n in range(3)], NOW),
    ]

    stored = await store.articles.store_many(batch)

    assert [[s.status for s in items] for items in stored] == [["new"] * 5, ["new"] * 3]
    assert [s.input for s in stored[0]] == list(batch[0].items)
    async with store.engine.connect() as conn:
        rows = {r.id: r for r in (await conn.execute(select(articles))).all()}
        topics = (await conn.execute(select(article_topics))).all()
    for source_items, batch_items in zip(stored, batch, strict=True):
        for s in source_items:
            row = rows[s.article_id]
            assert row.source_id == batch_items.source_id
            assert (row.url, row.guid, row.headline, row.summary, row.signature) == (
                s.input.url,
                s.input.guid,
                s.input.headline,
                s.input.summary,
                s.input.signature,
            )
            assert (row.published_at, row.fetched_at) == (s.input.published_at, NOW)
            assert row.cluster_id == row.id
    expected_topics = {(s.article_id, t) for items in stored for s in items for t in s.input.topics}
    assert set(map(tuple, topics)) == expected_topics


async def test_rows_and_topics_beyond_one_statement_go_in_several(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("bot.store.articles._INSERT_ROWS", 2)
    monkeypatch.setattr("bot.store.articles._TOPIC_ROWS", 3)
    (source,) = await store.sources.sync([("A", "https://a.example/rss", "feed")])
    inputs = [item(n) for n in range(7)]  # 7 rows, 10 topic rows: 4 and 4 statements

    (stored,) = await store.articles.store_many([SourceItems(source.id, inputs, NOW)])

    async with store.engine.connect() as conn:
        urls = (await conn.execute(select(articles.c.url))).scalars().all()
        topics = (await conn.execute(select(article_topics))).all()
    assert sorted(urls) == sorted(i.url for i in inputs)
    assert set(map(tuple, topics)) == {(s.article_id, t) for s in stored for t in s.input.topics}
    assert len(topics) == 10


async def test_a_url_another_source_stored_meanwhile_is_not_returned_as_ours(store: Store):
    first, second = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    [[theirs]] = await store.articles.store_many([SourceItems(second.id, [item(1)], NOW)])

    # _insert is what store_many runs after finding no existing row: here the
    # other source's row appeared in between (ON CONFLICT DO NOTHING + RETURNING).
    async with store.engine.begin() as conn:
        [stored] = await _insert(conn, [(SourceItems(first.id, [], NOW), [item(1), item(2)])], None)

    assert [s.input.url for s in stored] == [item(2).url]
    assert stored[0].article_id != theirs.article_id
    assert await store.articles.count() == 2


async def test_reserved_ids_are_above_every_stored_id_and_never_given_twice(store: Store):
    [source] = await store.sources.sync([("A", "https://a.example/rss", "feed")])
    stored = await store.articles.store(source.id, [item(n) for n in range(3)], NOW)
    highest = max(s.article_id for s in stored)

    async with store.engine.begin() as conn:
        await order_article_inserts(conn)
        reserved = await reserve_article_ids(conn, 4)
        assert await reserve_article_ids(conn, 0) == []
    [later] = await store.articles.store(source.id, [item(9)], NOW)

    assert reserved == sorted(reserved) and len(set(reserved)) == 4
    assert min(reserved) > highest
    # Unused reservations leave a gap on PostgreSQL (a sequence) and are given again on
    # SQLite (the next rowid): either way ids only grow.
    assert later.article_id > highest


async def test_an_item_that_joined_a_skipped_row_starts_its_own_story(store: Store):
    first, second = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    [[theirs]] = await store.articles.store_many([SourceItems(second.id, [item(1)], NOW)])

    async def group(sources: Sequence[tuple[int, Sequence[StoredItem]]]) -> Mapping[int, int]:
        [(_, [will_be_skipped, joiner])] = sources
        return {joiner.article_id: will_be_skipped.article_id}

    # As if another writer had stored item 1 between the existence check and the insert.
    async with store.engine.begin() as conn:
        entry = (SourceItems(first.id, [], NOW), [item(1), item(2)])
        [stored] = await _insert(conn, [entry], group)

    assert [s.input.url for s in stored] == [item(2).url]
    [joiner] = stored
    by_url = {a.url: a for a in await store.articles.recent(["world"], since=NOW - timedelta(1))}
    assert by_url[item(2).url].cluster_id == joiner.article_id
    assert by_url[item(1).url].id == theirs.article_id


async def test_grouped_new_items_are_stored_in_their_story_in_the_same_transaction(
    store: Store,
):
    first, second = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    [[known]] = await store.articles.store_many([SourceItems(first.id, [item(1)], NOW)])
    seen: list[tuple[int, list[str]]] = []

    async def group(sources: Sequence[tuple[int, Sequence[StoredItem]]]) -> Mapping[int, int]:
        seen.extend((source_id, [s.input.url for s in items]) for source_id, items in sources)
        new = {s.input.url: s.article_id for _, items in sources for s in items}
        return {new[item(3, host="b.example").url]: known.article_id}  # item 1's story

    batches = [
        SourceItems(first.id, [item(1), item(2)], NOW),
        SourceItems(second.id, [item(3, host="b.example")], NOW),
    ]
    [ours, _] = await store.articles.store_many(batches, group=group)

    # Only new items are offered, each source's in order, with their ids.
    assert seen == [(first.id, [item(2).url]), (second.id, [item(3, host="b.example").url])]
    clusters = {
        a.url: a.cluster_id
        for a in await store.articles.recent(["world"], since=NOW - timedelta(days=1))
    }
    assert clusters[item(2).url] == ours[1].article_id  # its own story
    assert clusters[item(3, host="b.example").url] == known.article_id


async def test_existing_items_are_found_by_url_and_by_guid(store: Store):
    [source] = await store.sources.sync([("A", "https://a.example/rss", "feed")])
    await store.articles.store(source.id, [item(1, guid="g1"), item(2)], NOW)
    moved = ArticleInput(**{**_fields(item(1, guid="g1")), "url": "https://news.example/moved"})
    changed = ArticleInput(**{**_fields(item(2)), "headline": "New headline"})

    stored = await store.articles.store(source.id, [moved, changed, item(3)], NOW)

    assert [s.status for s in stored] == ["unchanged", "updated", "new"]


async def test_record_success_many_writes_the_fetch_state(store: Store):
    one, two = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    await store.sources.record_failure(one.id, error="boom", next_poll_at=NOW)
    later = NOW + timedelta(minutes=5, microseconds=7)
    await store.sources.record_success_many(
        [
            FetchSuccess(one.id, later, '"e1"', "Tue, 14 May 2024 18:00:00 GMT"),
            FetchSuccess(two.id, later, None, None, redirect_url="https://b.example/new"),
        ]
    )

    a, b = await store.sources.get(one.id), await store.sources.get(two.id)
    assert a is not None and b is not None
    assert (a.etag, a.last_modified, a.next_poll_at) == (
        '"e1"',
        "Tue, 14 May 2024 18:00:00 GMT",
        later,
    )
    assert (a.error_count, a.last_error, a.last_success_at, a.last_polled_at) == (0, None, NOW, NOW)
    assert (b.etag, b.redirect_url) == (None, "https://b.example/new")
    async with store.engine.connect() as conn:
        names = (await conn.execute(select(sources.c.name).order_by(sources.c.id))).scalars().all()
    assert names == ["A", "B"]


def _fields(value: ArticleInput) -> dict[str, object]:
    return {name: getattr(value, name) for name in ArticleInput.__slots__}
