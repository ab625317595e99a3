"""Seeding for the multi-process tests: a desk folder source, one story, many subscribers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import open_store
from bot.store.articles import ArticleInput
from bot.store.records import ChatKey


async def seed_world_subscribers(
    db_url: str, desk: Path, *, headline: str, first_id: int, count: int, digest_in: timedelta
) -> None:
    """``count`` private chats from ``first_id`` following World news, their 08:00 digest
    due ``digest_in`` from now (negative: overdue); one World story from the "Desk"
    folder source (declare the same source in the bot's config, or its sync drops it)."""
    now = datetime.now(UTC)
    store = await open_store(db_url)
    try:
        [source] = await store.sources.sync([("Desk", str(desk), "folder")])
        story = ArticleInput("https://desk.example/world/1", headline, "Talks.", now, ("world",))
        await store.articles.store(source.id, [story], now)
        for n in range(count):
            chat = await store.chats.ensure(
                ChatKey(first_id + n),
                kind="private",
                title="",
                timezone="UTC",
                digest_times=["08:00"],
                next_digest_at=now + digest_in,
            )
            await store.chats.add_topics(chat.id, ["world"])
    finally:
        await store.close()
