"""The article store on SQLite and PostgreSQL: what a store writes, ids, clusters, visibility."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, insert, select

from bot.store import Store, open_store
from bot.store.articles import ArticleInput, StoredItem
from bot.store.engine import make_engine
from bot.store.migrate import alembic_config, current_revision
from bot.store.schema import article_topics, articles, chats, sources

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


async def two_sources(store: Store) -> tuple[int, int]:
    first, second = await store.sources.sync(
        [("A", "https://a.example/rss", "feed"), ("B", "https://b.example/rss", "feed")]
    )
    return first.id, second.id


async def all_ids(store: Store) -> list[int]:
    async with store.engine.connect() as conn:
        return list((await conn.execute(select(articles.c.id).order_by(articles.c.id))).scalars())


async def test_store_writes_every_column_its_topics_and_its_own_cluster(store: Store):
    source_id, _ = await two_sources(store)
    inputs = [item(1, guid="g1"), item(2)]

    stored = await store.articles.store(source_id, inputs, NOW)

    assert [(s.status, s.input) for s in stored] == [("new", i) for i in inputs]
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(articles).order_by(articles.c.id))).all()
        topics = (await conn.execute(select(article_topics))).all()
    for row, saved, given in zip(rows, stored, inputs, strict=True):
        assert row.id == saved.article_id
        assert row.cluster_id == row.id  # set in the inserting transaction, never NULL
        assert (row.source_id, row.guid, row.url) == (source_id, given.guid, given.url)
        assert (row.headline, row.summary, row.signature) == (
            given.headline,
            given.summary,
            given.signature,
        )
        assert (row.published_at, row.fetched_at) == (given.published_at, NOW)
    expected = {(s.article_id, t) for s in stored for t in s.input.topics}
    assert {(t.article_id, t.topic_id) for t in topics} == expected


async def test_results_follow_the_items_and_repeats_in_one_batch_count_once(store: Store):
    source_id, _ = await two_sources(store)
    await store.articles.store(source_id, [item(1, guid="g1"), item(2)], NOW)
    moved = ArticleInput(**{**_fields(item(1, guid="g1")), "url": "https://news.example/moved"})
    changed = ArticleInput(**{**_fields(item(2)), "headline": "New headline"})

    stored = await store.articles.store(source_id, [moved, changed, item(3), item(3)], NOW)

    assert [s.status for s in stored] == ["unchanged", "updated", "new"]
    assert await store.articles.count() == 3


async def test_grouped_new_items_join_their_story_in_the_same_transaction(store: Store):
    first, second = await two_sources(store)
    [known] = await store.articles.store(first, [item(1)], NOW)
    offered: list[list[str]] = []

    def group(new_items: Sequence[StoredItem]) -> Mapping[int, int]:
        offered.append([s.input.url for s in new_items])
        return {new_items[0].article_id: known.article_id}  # the first joins item 1's story

    stored = await store.articles.store(
        second, [item(1), item(3, host="b.example"), item(4, host="b.example")], NOW, group=group
    )

    # Only new items are offered, in order, with their ids.
    assert offered == [[item(3, host="b.example").url, item(4, host="b.example").url]]
    clusters = {
        a.url: a.cluster_id
        for a in await store.articles.recent(["world"], since=NOW - timedelta(days=1))
    }
    assert clusters[item(3, host="b.example").url] == known.article_id
    assert clusters[item(4, host="b.example").url] == stored[2].article_id  # its own story


async def test_a_failing_group_stores_nothing(store: Store):
    source_id, _ = await two_sources(store)

    def group(new_items: Sequence[StoredItem]) -> Mapping[int, int]:
        raise RuntimeError("grouper bug")

    with pytest.raises(RuntimeError):
        await store.articles.store(source_id, [item(1)], NOW, group=group)

    assert await store.articles.count() == 0


async def test_an_id_is_never_given_twice_even_after_the_newest_is_pruned(store: Store):
    source_id, _ = await two_sources(store)
    stored = await store.articles.store(source_id, [item(3), item(2), item(1)], NOW)
    newest = max(s.article_id for s in stored)  # item 1: the latest published, stored last
    assert await store.articles.prune(NOW - timedelta(minutes=2)) == 2
    assert await all_ids(store) == [newest]
    await store.articles.prune(NOW + timedelta(days=1))  # now the newest goes too

    [again] = await store.articles.store(source_id, [item(9)], NOW)

    assert again.article_id > newest


async def test_known_urls(store: Store):
    source_id, _ = await two_sources(store)
    await store.articles.store(source_id, [item(1)], NOW)

    assert await store.articles.known_urls([item(1).url, item(2).url]) == {item(1).url}


async def test_concurrent_writers_make_ids_visible_in_id_order(store: Store):
    """A reader never sees an id above one that appears later: a cursor never skips."""
    source_ids = [
        s.id
        for s in await store.sources.sync(
            [(f"S{n}", f"https://s{n}.example/rss", "feed") for n in range(6)]
        )
    ]
    snapshots: list[list[int]] = []
    writing = True

    async def read() -> None:
        while writing:
            snapshots.append(await all_ids(store))
            await asyncio.sleep(0)

    async def write(index: int, source_id: int) -> None:
        for batch in range(4):
            base = 1000 * index + 100 * batch
            items = [item(base + n, host=f"s{index}.example") for n in range(1 + index * 3)]
            await store.articles.store(source_id, items, NOW)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(i, s) for i, s in enumerate(source_ids)))
    writing = False
    await reader

    final = await all_ids(store)
    assert snapshots  # the reader looked while the writers wrote
    for seen in snapshots:
        below = [i for i in final if seen and i <= max(seen)]
        assert seen == below  # every id under the highest one seen was already there


async def test_migration_keeps_articles_topics_and_gives_ids_above_every_cursor(
    database_url: str, tmp_path: Path
):
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
            await _fill_at_0001(conn)
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    finally:
        await engine.dispose()
    store = await open_store(database_url, clock=lambda: NOW)
    try:
        assert await current_revision(store.engine) == "0006"
        [kept] = await store.articles.recent(["world"], since=NOW - timedelta(days=1))
        assert (kept.id, kept.topics, kept.cluster_id) == (5, ("politics", "world"), 5)
        [source] = await store.sources.all()
        [new] = await store.articles.store(source.id, [item(2)], NOW)
        assert new.article_id > 7  # above the pruned article 7 a chat cursor reached
    finally:
        await store.close()


async def _fill_at_0001(conn: object) -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(conn, AsyncConnection)
    await conn.execute(
        insert(sources).values(
            id=1,
            name="A",
            url="https://a.example/rss",
            kind="feed",
            next_poll_at=NOW,
            error_count=0,
            created_at=NOW,
        )
    )
    values = _fields(item(1))
    await conn.execute(
        insert(articles).values(
            id=5,
            source_id=1,
            guid=None,
            url=values["url"],
            headline=values["headline"],
            summary=values["summary"],
            signature=values["signature"],
            published_at=values["published_at"],
            fetched_at=NOW,
            cluster_id=5,
        )
    )
    await conn.execute(
        insert(article_topics), [{"article_id": 5, "topic_id": t} for t in ("world", "politics")]
    )
    await conn.execute(
        insert(chats).values(
            telegram_id=42,
            thread_id=0,
            kind="private",
            title="",
            timezone="UTC",
            digest_times=["08:00"],
            mode="scheduled",
            is_paused=False,
            is_active=True,
            include_words=[],
            exclude_words=[],
            cursor_article_id=7,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    if conn.dialect.name == "postgresql":  # rows given ids 6 and 7 since, then pruned
        sequence = func.pg_get_serial_sequence("articles", "id")
        await conn.execute(select(func.setval(sequence, 7)))


def _fields(value: ArticleInput) -> dict[str, object]:
    return {name: getattr(value, name) for name in ArticleInput.__slots__}


async def test_a_source_keeps_at_most_its_cap_the_oldest_stored_pruned(store: Store) -> None:
    first, second = await two_sources(store)
    other = await store.articles.store(second, [item(n, host="b.example") for n in range(3)], NOW)
    batches = [[item(n) for n in range(start, start + 4)] for start in (0, 4, 8)]
    stored = [await store.articles.store(first, batch, NOW, keep=6) for batch in batches]

    newest = [s.article_id for s in stored[1] + stored[2]]
    async with store.engine.connect() as conn:
        kept = select(articles.c.id).where(articles.c.source_id == first).order_by(articles.c.id)
        assert list((await conn.execute(kept)).scalars()) == newest[-6:]
        tagged = select(func.count(func.distinct(article_topics.c.article_id)))
        assert (await conn.execute(tagged)).scalar() == 6 + 3  # topics went with their rows
    assert len(await all_ids(store)) == 6 + 3  # the other source untouched
    assert all(s.status == "new" for s in other)

    # A store that adds nothing prunes nothing, even over the cap.
    again = await store.articles.store(first, batches[2], NOW, keep=1)
    assert {s.status for s in again} == {"unchanged"}
    assert len(await all_ids(store)) == 6 + 3


async def test_the_items_of_a_store_are_never_pruned_by_it(store: Store) -> None:
    source_id, _ = await two_sources(store)
    await store.articles.store(source_id, [item(n) for n in range(5)], NOW, keep=5)
    # Backdated items (published before every stored one) still outlive the older rows.
    backdated = [
        ArticleInput(
            url=f"https://news.example/old/{n}",
            headline=f"Old {n}",
            summary="",
            published_at=NOW - timedelta(days=3),
            topics=("world",),
        )
        for n in range(2)
    ]
    stored = await store.articles.store(source_id, backdated, NOW, keep=5)
    assert {s.article_id for s in stored} <= set(await all_ids(store))
    assert len(await all_ids(store)) == 5


def undated(n: int, at: datetime) -> ArticleInput:
    """An item without a date of its own: ingestion stores its first fetch as its date."""
    return ArticleInput(
        url=f"https://news.example/undated/{n}",
        headline=f"Undated {n}",
        summary="",
        published_at=at,
        topics=("world",),
    )


async def last_seen(store: Store, article_id: int) -> datetime:
    async with store.engine.connect() as conn:
        stmt = select(articles.c.last_seen_at).where(articles.c.id == article_id)
        return (await conn.execute(stmt)).scalar_one()


async def test_an_undated_item_its_feed_lists_survives_prune_and_the_cap(store: Store) -> None:
    source_id, _ = await two_sources(store)
    listed = undated(1, NOW)
    [first] = await store.articles.store(source_id, [listed], NOW, keep=3)
    at = NOW
    for day in range(1, 41):  # 40 daily polls, each with a new dated item above it
        at = NOW + timedelta(days=day)
        fresh = ArticleInput(**{**_fields(item(day)), "published_at": at - timedelta(hours=1)})
        stored = await store.articles.store(source_id, [fresh, listed], at, keep=3)
        assert stored[1] == StoredItem(first.article_id, "unchanged", listed)  # never new again
        assert await store.articles.prune(at - timedelta(days=30)) == 0
    assert first.article_id == min(await all_ids(store))  # the oldest row, kept by the cap
    assert len(await all_ids(store)) == 3
    assert await last_seen(store, first.article_id) == at

    # Unchanged (304) for two months: the latest listing still holds it; the dated items go.
    later = at + timedelta(days=60)
    assert await store.articles.prune(later - timedelta(days=30)) == 2
    [again] = await store.articles.store(source_id, [listed], later, keep=3)
    assert again == StoredItem(first.article_id, "unchanged", listed)

    # A listing without it: gone once it was last listed (at ``later``) before the cutoff.
    next_day = later + timedelta(days=1)
    fresh = ArticleInput(**{**_fields(item(99)), "published_at": next_day - timedelta(hours=1)})
    await store.articles.store(source_id, [fresh], next_day, keep=3)
    assert await store.articles.prune(later - timedelta(hours=1)) == 0
    assert await store.articles.prune(later + timedelta(hours=1)) == 1
    assert first.article_id not in await all_ids(store)


async def test_migration_0003_counts_every_row_as_in_its_source_s_latest_listing(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
            await conn.execute(
                insert(sources),
                [
                    {
                        "id": n,
                        "name": name,
                        "url": f"https://{name}.example/rss",
                        "kind": "feed",
                        "next_poll_at": NOW,
                        "error_count": 0,
                        "created_at": NOW,
                    }
                    for n, name in ((1, "a"), (2, "b"))
                ],
            )
            rows = [(1, 1, NOW - timedelta(days=40)), (1, 2, NOW), (2, 3, NOW - timedelta(days=2))]
            await conn.execute(
                insert(articles),
                [
                    {
                        "source_id": source_id,
                        "url": f"https://news.example/{n}",
                        "headline": f"H{n}",
                        "summary": "",
                        "signature": "",
                        "published_at": fetched_at,
                        "fetched_at": fetched_at,
                    }
                    for source_id, n, fetched_at in rows
                ],
            )
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
        async with engine.connect() as conn:
            stmt = select(articles.c.url, articles.c.last_seen_at).order_by(articles.c.url)
            seen = {r.url: r.last_seen_at for r in (await conn.execute(stmt)).all()}
    finally:
        await engine.dispose()
    assert seen == {
        "https://news.example/1": NOW,  # its source's latest poll: kept until one drops it
        "https://news.example/2": NOW,
        "https://news.example/3": NOW - timedelta(days=2),
    }
    store = await open_store(database_url, clock=lambda: NOW)
    try:
        assert await store.articles.prune(NOW - timedelta(days=30)) == 0  # undated, listed
    finally:
        await store.close()
