"""The chat edge's steps that need no Telegram: admin cache, filters, search words,
chat keys of updates, migration ids, and subscribing against a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, Update

from bot.chat.access import AdminCache
from bot.chat.context import chat_key_of
from bot.chat.group_upgrade import migration_ids
from bot.chat.keyword_filters import merged_filters
from bot.chat.news_now import MAX_SEARCH_WORDS, search_words
from bot.chat.parsing import ChatInputError, FilterChoice
from bot.chat.schedule import apply_schedule, apply_timezone
from bot.chat.schedule_parsing import ScheduleChoice
from bot.chat.subscriptions import in_catalogue_order, subscribe_text, unsubscribe_text
from bot.digest.planner import DigestPlanner
from bot.services import Services
from bot.settings import Settings
from bot.store import Store
from bot.store.records import Chat, ChatKey
from tests.chat.conftest import TOPICS

BERLIN_SPRING = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)  # the day before clocks go forward


# ---- admin cache -------------------------------------------------------------------


def test_admin_cache_forgets_answers_after_ttl() -> None:
    now = [100.0]
    cache = AdminCache(ttl_seconds=60, now=lambda: now[0])
    cache.put(-1, 7, True)

    assert cache.get(-1, 7) is True
    assert cache.get(-1, 8) is None
    now[0] += 59.9
    assert cache.get(-1, 7) is True
    now[0] += 0.2
    assert cache.get(-1, 7) is None


# ---- filters and search words -------------------------------------------------------


def _chat(**fields: Any) -> Chat:
    values: dict[str, Any] = {
        "id": 1,
        "telegram_id": 5,
        "thread_id": 0,
        "kind": "private",
        "title": "",
        "timezone": "UTC",
        "digest_times": ("08:00",),
        "mode": "scheduled",
        "is_paused": False,
        "is_active": True,
        "include_words": (),
        "exclude_words": (),
        "topics": (),
        "next_digest_at": None,
        "last_digest_at": None,
        "cursor_article_id": 0,
        "created_at": BERLIN_SPRING,
    }
    values.update(fields)
    return Chat(**values)


def test_filters_grow_and_a_word_moves_between_lists() -> None:
    chat = _chat(include_words=("rain",), exclude_words=("snow", "hail"))

    include, exclude = merged_filters(chat, FilterChoice("include", ("snow", "wind")))

    assert include == ("rain", "snow", "wind")
    assert exclude == ("hail",)
    assert merged_filters(chat, FilterChoice("clear")) == ((), ())


def test_filters_refuse_more_than_twenty_words() -> None:
    chat = _chat(exclude_words=tuple(f"w{i}" for i in range(19)))

    assert len(merged_filters(chat, FilterChoice("exclude", ("x",)))[1]) == 20
    with pytest.raises(ChatInputError, match="At most 20"):
        merged_filters(chat, FilterChoice("exclude", ("x", "y")))


def test_search_words_clean_dedupe_and_cap() -> None:
    assert search_words('"Quake", quake! (coast)') == ("Quake", "quake", "coast")
    assert len(search_words(" ".join(f"w{i}" for i in range(20)))) == MAX_SEARCH_WORDS
    with pytest.raises(ChatInputError):
        search_words("?! ...")
    with pytest.raises(ChatInputError):
        search_words("x" * 201)


# ---- updates ----------------------------------------------------------------------

_BOT = Bot("123:ABC")


def _message_update(**message: Any) -> Update:
    base = {
        "message_id": 3,
        "date": 1715752800,
        "chat": {"id": -100500, "type": "supergroup", "title": "Forum", "is_forum": True},
        "from": {"id": 1, "is_bot": False, "first_name": "A"},
    }
    return Update.de_json({"update_id": 1, "message": {**base, **message}}, _BOT)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"message_thread_id": 7, "is_topic_message": True}, ChatKey(-100500, 7)),
        ({"message_thread_id": 55}, ChatKey(-100500, 0)),  # a reply chain, not a topic
        ({}, ChatKey(-100500, 0)),
    ],
)
def test_chat_key_of_an_update(fields: dict[str, Any], key: ChatKey) -> None:
    assert chat_key_of(_message_update(text="/help", **fields)) == key


def test_migration_ids_from_either_service_message() -> None:
    to_update = _message_update(migrate_to_chat_id=-100999)
    from_update = _message_update(migrate_from_chat_id=-42)

    assert migration_ids(to_update) == (-100500, -100999)
    assert migration_ids(from_update) == (-42, -100500)
    assert migration_ids(_message_update(text="hi")) is None


# ---- against a real store ---------------------------------------------------------------


@pytest.fixture
async def services(store: Store) -> AsyncIterator[Services]:
    settings = Settings(database_url="sqlite:///unused.db", topics=TOPICS, sources=[])
    wakes: list[None] = []

    def clock() -> datetime:
        return BERLIN_SPRING

    planner = DigestPlanner(store, settings, clock)
    yield Services(settings, store, clock, planner, wake_sender=lambda: wakes.append(None))


async def _new_chat(services: Services) -> Chat:
    return await services.store.chats.ensure(
        ChatKey(42),
        kind="private",
        title="Alice",
        timezone="UTC",
        digest_times=["08:00"],
        next_digest_at=None,
    )


async def test_subscribe_and_unsubscribe_text(services: Services) -> None:
    chat = await _new_chat(services)

    text = (await subscribe_text(services, chat, "business, world, wrld")).text

    assert text.splitlines() == [
        "No topic 'wrld'. Did you mean World news? /topics lists them all.",
        "✅ You now follow Business and World news.",
    ]
    chat = await services.store.chats.get(ChatKey(42))
    assert chat is not None
    assert in_catalogue_order(services.settings, chat.topics) == ["world", "business"]
    assert await unsubscribe_text(services, chat, "world") == "Dropped World news."
    assert (await unsubscribe_text(services, chat, "everything")).startswith("Done: you follow")


async def test_timezone_change_recomputes_the_slot_across_dst(services: Services) -> None:
    chat = await _new_chat(services)
    chat = await apply_schedule(services, chat, ScheduleChoice("scheduled", ("02:30",)))
    assert chat.next_digest_at == datetime(2024, 3, 31, 2, 30, tzinfo=UTC)

    chat = await apply_timezone(services, chat, "Europe/Berlin")

    # 02:30 does not exist in Berlin on 31 March 2024: it fires at 03:00 CEST (01:00 UTC).
    assert chat.timezone == "Europe/Berlin"
    assert chat.next_digest_at == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
