"""Feeds chats added ("My feeds") in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from bot.store import Store, open_store
from bot.store.articles import ArticleInput
from bot.store.chat_sources import url_key
from bot.store.engine import make_engine
from bot.store.migrate import alembic_config
from bot.store.records import ChatKey, Source, own_feed_topic

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
FEED = "https://blog.example/feed.xml"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, clock=lambda: NOW)
    yield opened
    await opened.close()


async def new_chat(store: Store, telegram_id: int) -> int:
    chat = await store.chats.ensure(
        ChatKey(telegram_id),
        kind="private",
        title="Someone",
        timezone="UTC",
        digest_times=["08:00"],
        next_digest_at=NOW,
    )
    return chat.id


async def test_one_source_per_url_whoever_adds_it(store: Store) -> None:
    alice, bob = await new_chat(store, 1), await new_chat(store, 2)

    first = await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=LATER)
    second = await store.chat_sources.follow(
        bob, "HTTPS://Blog.Example:443/feed.xml", "Blog", limit=5, next_poll_at=LATER
    )
    again = await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=LATER)

    assert (first.outcome, first.is_new_source) == ("added", True)
    assert (second.outcome, second.is_new_source) == ("added", False)
    assert again.outcome == "already"
    assert first.source is not None and second.source is not None
    assert first.source.id == second.source.id
    assert first.source.origin == "chat"
    assert await store.chat_sources.followers(first.source.id) == 2
    chat = await store.chats.get_by_id(alice)
    assert chat is not None and chat.own_feeds == (first.source.id,)
    assert chat.followed == (own_feed_topic(first.source.id),)


async def test_the_per_chat_limit(store: Store) -> None:
    alice = await new_chat(store, 1)
    await store.chat_sources.follow(alice, FEED, "Blog", limit=1, next_poll_at=LATER)

    full = await store.chat_sources.follow(
        alice, "https://other.example/rss", "Other", limit=1, next_poll_at=LATER
    )

    assert (full.outcome, full.source) == ("full", None)
    assert await store.chat_sources.find("https://other.example/rss") is None


async def test_a_source_nobody_follows_is_not_due_and_comes_back_when_followed(
    store: Store,
) -> None:
    alice = await new_chat(store, 1)
    followed = await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=NOW)
    assert followed.source is not None
    source_id = followed.source.id
    assert [s.id for s in await due_now(store)] == [source_id]

    assert await store.chat_sources.unfollow(alice, source_id)
    assert not await store.chat_sources.unfollow(alice, source_id)
    assert await due_now(store) == []
    assert await store.sources.all() == []

    again = await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=NOW)
    assert again.source is not None and again.source.id == source_id
    assert [s.id for s in await due_now(store)] == [source_id]


async def test_deleting_a_chat_drops_its_follows(store: Store) -> None:
    alice = await new_chat(store, 1)
    await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=NOW)

    await store.chats.delete(alice)

    assert await due_now(store) == []


async def test_the_catalogue_sync_leaves_chat_feeds_alone_and_takes_back_its_names(
    store: Store,
) -> None:
    alice = await new_chat(store, 1)
    added = await store.chat_sources.follow(alice, FEED, "Wire", limit=5, next_poll_at=NOW)
    assert added.source is not None

    synced = await store.sources.sync([("Wire", "https://news.example/rss", "feed")])

    by_origin = {s.origin: s for s in synced}
    assert by_origin["catalogue"].name == "Wire"
    assert by_origin["chat"].name == f"Wire #{added.source.id}"
    assert by_origin["chat"].url == FEED
    await store.sources.sync([])  # the catalogue emptied: its sources go, chat feeds stay
    assert [s.origin for s in await store.sources.all()] == ["chat"]


async def test_names_stay_unique_and_feeds_list_in_order(store: Store) -> None:
    alice = await new_chat(store, 1)
    await store.sources.sync([("Blog", "https://news.example/rss", "feed")])
    await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=NOW)
    await store.chat_sources.follow(
        alice, "https://blog.example/other.xml", "Blog", limit=5, next_poll_at=NOW
    )
    await store.chat_sources.follow(
        alice, "https://blog.example/third.xml", "Blog", limit=5, next_poll_at=NOW
    )

    feeds = await store.chat_sources.feeds_of(alice)

    assert [f.title for f in feeds] == [
        "Blog (blog.example)",
        f"Blog (blog.example) #{url_key('https://blog.example/other.xml')[:8]}",
        f"Blog (blog.example) #{url_key('https://blog.example/third.xml')[:8]}",
    ]
    assert feeds[0].url == FEED


async def test_articles_of_an_own_feed_are_found_by_its_topic_and_latest_headline(
    store: Store,
) -> None:
    alice = await new_chat(store, 1)
    added = await store.chat_sources.follow(alice, FEED, "Blog", limit=5, next_poll_at=NOW)
    assert added.source is not None
    topic = own_feed_topic(added.source.id)
    items = [
        ArticleInput(
            url=f"https://blog.example/{n}",
            headline=f"Post {n}",
            summary="Text.",
            published_at=NOW - timedelta(hours=n),
            topics=(topic,),
        )
        for n in (1, 2)
    ]
    await store.articles.store(added.source.id, items, NOW)

    found = await store.articles.candidates([topic], after_id=0, since=NOW - timedelta(days=1))

    assert {a.headline for a in found} == {"Post 1", "Post 2"}
    assert await store.chat_sources.latest_headline(added.source.id) == "Post 1"
    catalogue = await store.chat_sources.catalogue_with_url(FEED)
    assert catalogue is None


async def test_migration_0006_keeps_sources_as_the_catalogues_and_goes_back(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    old_sources = sa.table(
        "sources",
        *(
            sa.column(c)
            for c in ("name", "url", "kind", "next_poll_at", "created_at", "error_count")
        ),
    )
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0003"))
            row = {"name": "Wire", "url": FEED, "kind": "feed", "error_count": 0}
            await conn.execute(
                sa.insert(old_sources).values(
                    **row,
                    next_poll_at=sa.func.current_timestamp(),
                    created_at=sa.func.current_timestamp(),
                )
            )
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            origins = (await conn.execute(sa.text("SELECT origin, url_key FROM sources"))).all()
            assert [tuple(r) for r in origins] == [("catalogue", None)]
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0003"))
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    finally:
        await engine.dispose()


async def due_now(store: Store) -> list[Source]:
    """The sources a poller would take now (a claim of no length leaves them due)."""
    return await store.sources.claim_due(NOW, timedelta(0))
