"""The digest planner end to end: store -> planner -> outbox -> Sender -> fake Telegram.

Real store on SQLite and PostgreSQL, the real python-telegram-bot ``Bot`` over
HTTP into FakeTelegram; only the clock is ours.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import telegram
from sqlalchemy import select, update

from bot.delivery.limiter import SendLimiter
from bot.delivery.sender import Sender
from bot.digest.planner import DigestPlanner
from bot.digest.slots import next_digest_at
from bot.settings import DeliverySettings, Settings, TopicConfig
from bot.store import Store, open_store
from bot.store.articles import ArticleInput
from bot.store.records import Chat, ChatKey, ChatMode
from bot.store.schema import articles, digests
from tests.fakes.telegram import FakeTelegram

# Monday 4 March 2030, 00:00 UTC = 05:30 in Kolkata; 08:00 there is 02:30 UTC.
START = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
KOLKATA_8AM = datetime(2030, 3, 4, 2, 30, tzinfo=UTC)
TOPICS = [TopicConfig(id="world", name="World"), TopicConfig(id="sport", name="Sport")]


class MovableClock:
    """Wall time that runs with real time from ``start`` and can be moved to any moment."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def set(self, moment: datetime) -> None:
        self._start, self._t0 = moment, time.monotonic()

    def advance(self, delta: timedelta) -> None:
        self.set(self() + delta)


@dataclass
class World:
    store: Store
    tg: FakeTelegram
    clock: MovableClock
    planner: DigestPlanner
    sender: Sender
    source_id: int
    urls: itertools.count[int]

    async def chat(
        self,
        telegram_id: int,
        *,
        tz: str = "Asia/Kolkata",
        times: Sequence[str] = ("08:00",),
        topics: Sequence[str] = ("world",),
        mode: ChatMode = "scheduled",
        language: str = "en",
    ) -> Chat:
        self.tg.private_chat(telegram_id)
        chat = await self.store.chats.ensure(
            ChatKey(telegram_id),
            kind="private",
            title="t",
            timezone=tz,
            digest_times=list(times),
            next_digest_at=next_digest_at(times, tz, self.clock()),
            language=language,
        )
        await self.store.chats.add_topics(chat.id, topics)
        await self.store.chats.update(chat.id, mode=mode)
        return await self.reload(chat)

    async def reload(self, chat: Chat) -> Chat:
        found = await self.store.chats.get_by_id(chat.id)
        assert found is not None
        return found

    async def publish(
        self, *headlines: str, topic: str = "world", fetched_ago: timedelta = timedelta()
    ) -> list[int]:
        now = self.clock() - fetched_ago
        items = [
            ArticleInput(
                url=f"https://wire.example/{next(self.urls)}",
                headline=headline,
                summary=f"About {headline.lower()}.",
                published_at=now - timedelta(minutes=10),
                topics=(topic,),
            )
            for headline in headlines
        ]
        stored = await self.store.articles.store(self.source_id, items, fetched_at=now)
        return [s.article_id for s in stored]

    async def deliver(self) -> None:
        report = await self.sender.drain()
        assert report.failed == report.unknown == 0

    def texts(self, telegram_id: int) -> list[str]:
        return [m.plain_text for m in self.tg.messages_to(telegram_id)]

    async def digest_rows(self, chat: Chat) -> list[tuple[str, str]]:
        stmt = select(digests.c.kind, digests.c.slot_key).where(digests.c.chat_id == chat.id)
        async with self.store.engine.connect() as conn:
            return [(k, s) for k, s in (await conn.execute(stmt.order_by(digests.c.id))).all()]


def make_settings() -> Settings:
    # sources=[]: the TOML in config/ names topics these tests do not declare.
    return Settings(topics=TOPICS, sources=[], stories_per_topic=5, delivery=DeliverySettings())


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    clock = MovableClock(START)
    store = await open_store(database_url, clock=clock)
    [source] = await store.sources.sync([("Wire", "https://wire.example/rss", "feed")])
    settings = make_settings()
    async with (
        FakeTelegram(limits=True) as tg,
        telegram.Bot(tg.token, base_url=tg.api_base_url) as bot,
    ):
        sender = Sender(store, bot, SendLimiter(), settings.delivery, clock, "planner-test")
        planner = DigestPlanner(store, settings, clock)
        yield World(store, tg, clock, planner, sender, source.id, itertools.count(1))
    await store.close()


async def test_scheduled_digest_arrives_at_the_chosen_local_time(world: World) -> None:
    chat = await world.chat(501)
    await world.publish("Summit opens in Tokyo", "Rupee steadies")
    assert chat.next_digest_at == KOLKATA_8AM

    world.clock.set(KOLKATA_8AM - timedelta(minutes=1))
    early = await world.planner.plan_due()
    world.clock.set(KOLKATA_8AM)
    on_time = await world.planner.plan_due()
    await world.deliver()

    assert (early, on_time) == (0, 1)
    [message] = world.texts(501)
    assert message.startswith("Your news digest · Mon 4 Mar 08:00 · Asia/Kolkata (UTC+05:30)")
    assert "Summit opens in Tokyo" in message and "Rupee steadies" in message
    chat = await world.reload(chat)
    assert chat.next_digest_at == KOLKATA_8AM + timedelta(days=1)
    assert await world.digest_rows(chat) == [("scheduled", "2030-03-04T02:30Z")]


async def test_nothing_new_sends_nothing_but_the_schedule_moves(world: World) -> None:
    chat = await world.chat(502)
    await world.publish("Only story")
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()

    world.clock.set(KOLKATA_8AM + timedelta(days=1))
    written = await world.planner.plan_due()
    await world.deliver()

    assert written == 0
    assert len(world.texts(502)) == 1
    chat = await world.reload(chat)
    assert chat.next_digest_at == KOLKATA_8AM + timedelta(days=2)


async def test_next_digest_has_the_new_story_and_not_the_old_ones(world: World) -> None:
    await world.chat(503)
    await world.publish("Old story")
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()

    world.clock.set(KOLKATA_8AM + timedelta(hours=12))
    await world.publish("Fresh story")
    world.clock.set(KOLKATA_8AM + timedelta(days=1))
    await world.planner.plan_due()
    await world.deliver()

    first, second = world.texts(503)
    assert "Old story" in first
    assert "Fresh story" in second and "Old story" not in second


async def test_a_first_digest_covers_the_last_24_hours(world: World) -> None:
    await world.chat(504)
    world.clock.set(KOLKATA_8AM)
    await world.publish("Two days old", fetched_ago=timedelta(hours=30))
    await world.publish("This morning", fetched_ago=timedelta(hours=2))

    await world.planner.plan_due()
    await world.deliver()

    [message] = world.texts(504)
    assert "This morning" in message and "Two days old" not in message


async def test_three_days_of_downtime_give_exactly_one_digest(world: World) -> None:
    chat = await world.chat(505)
    await world.publish("Last digest's story")
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()
    world.clock.set(KOLKATA_8AM + timedelta(hours=6))
    await world.publish("Before the outage")
    world.clock.set(KOLKATA_8AM + timedelta(days=3, minutes=20))  # 3 slots missed
    await world.publish("During the outage")

    written = await world.planner.plan_due()
    again = await world.planner.plan_due()
    await world.deliver()

    assert (written, again) == (1, 0)
    _, message = world.texts(505)
    assert "Before the outage" in message and "During the outage" in message
    assert "Last digest's story" not in message
    slots = [slot for _, slot in await world.digest_rows(chat)]
    assert slots == ["2030-03-04T02:30Z", "2030-03-07T02:30Z"]
    chat = await world.reload(chat)
    assert chat.next_digest_at == KOLKATA_8AM + timedelta(days=4)


async def test_planning_twice_at_once_writes_one_digest(world: World, database_url: str) -> None:
    chat = await world.chat(506)
    await world.publish("Contested story")
    world.clock.set(KOLKATA_8AM)
    other_store = await open_store(database_url, clock=world.clock, migrate=False)
    other = DigestPlanner(other_store, make_settings(), world.clock)
    try:
        results = await asyncio.gather(world.planner.plan_due(), other.plan_due())
    finally:
        await other_store.close()
    await world.deliver()

    assert sorted(results) in ([0, 1], [1, 1])  # both may insert-or-ignore; one row exists
    assert await world.digest_rows(chat) == [("scheduled", "2030-03-04T02:30Z")]
    assert len(world.texts(506)) == 1


async def test_dst_change_keeps_the_local_time(world: World) -> None:
    # Berlin springs forward on Sunday 31 March 2030: 08:00 is 07:00 UTC before, 06:00 after.
    world.clock.set(datetime(2030, 3, 30, 12, 0, tzinfo=UTC))
    chat = await world.chat(507, tz="Europe/Berlin")
    await world.publish("Saturday news")
    assert chat.next_digest_at == datetime(2030, 3, 31, 6, 0, tzinfo=UTC)

    world.clock.set(datetime(2030, 3, 31, 6, 0, tzinfo=UTC))
    await world.planner.plan_due()
    await world.deliver()

    chat = await world.reload(chat)
    assert chat.next_digest_at == datetime(2030, 4, 1, 6, 0, tzinfo=UTC)
    [message] = world.texts(507)
    assert message.startswith("Your news digest · Sun 31 Mar 08:00 · Europe/Berlin (UTC+02:00)")


async def test_instant_chat_gets_one_message_batch_per_poll(world: World) -> None:
    await world.chat(508, mode="instant", topics=("world", "sport"))
    first_poll = await world.publish("Goal!", topic="sport") + await world.publish("Vote count")

    written = await world.planner.plan_instant(first_poll)
    repeated = await world.planner.plan_instant(first_poll)
    await world.deliver()
    second_poll = await world.publish("Late result")
    await world.planner.plan_instant(second_poll)
    await world.deliver()

    assert (written, repeated) == (1, 0)
    first, second = world.texts(508)
    assert "Goal!" in first and "Vote count" in first
    assert "Late result" in second and "Goal!" not in second


async def test_instant_planning_leaves_scheduled_chats_alone(world: World) -> None:
    await world.chat(509)
    ids = await world.publish("Breaking")

    assert await world.planner.plan_instant(ids) == 0
    assert await world.planner.plan_instant([]) == 0


async def test_deliver_now_asked_again_with_the_same_key_queues_nothing_more(world: World) -> None:
    # The dispatcher runs an update again after a crash: the same /digest must not repeat.
    chat = await world.chat(517)
    await world.publish("One")

    first = await world.planner.deliver_now(chat, "u7")
    again = await world.planner.deliver_now(await world.reload(chat), "u7")
    await world.deliver()

    assert (first, again) == (1, 1)
    assert len(world.texts(517)) == 1


async def test_deliver_now_sends_what_is_new_and_then_nothing(world: World) -> None:
    chat = await world.chat(510)
    await world.publish("One", "Two")

    queued = await world.planner.deliver_now(chat, "u1")
    await world.deliver()
    nothing = await world.planner.deliver_now(await world.reload(chat), "u2")

    assert (queued, nothing) == (2, 0)
    [message] = world.texts(510)
    assert "One" in message and "Two" in message
    chat = await world.reload(chat)
    assert chat.last_digest_at is not None
    assert chat.next_digest_at == KOLKATA_8AM  # the schedule is untouched


async def test_welcome_brings_the_last_day_and_is_not_repeated(world: World) -> None:
    chat = await world.chat(511, topics=())
    await world.publish("Yesterday's big story", fetched_ago=timedelta(hours=5))
    await world.store.chats.add_topics(chat.id, ["world"])
    chat = await world.reload(chat)

    queued = await world.planner.welcome(chat, ["world"])
    again = await world.planner.welcome(chat, ["world"])
    await world.deliver()
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()

    assert queued == 1 and again == 0  # the cursor moved: nothing new, one message
    [message] = world.texts(511)
    assert message.startswith("👋 Welcome digest: the last 24 hours of World")
    assert message.endswith(
        "Your next digest: Mon 4 Mar 08:00. /digest shows what is new before then."
    )
    assert "Yesterday's big story" in message
    kinds = [kind for kind, _ in await world.digest_rows(chat)]
    assert kinds == ["welcome"]


async def test_topic_added_later_brings_only_what_the_chat_would_never_see(
    world: World,
) -> None:
    chat = await world.chat(512, topics=("world",))
    await world.publish("Old sport story", topic="sport", fetched_ago=timedelta(hours=2))
    await world.publish("Old world story", fetched_ago=timedelta(hours=2))
    await world.planner.deliver_now(chat, "u1")  # moves the cursor past both
    await world.deliver()
    await world.publish("Fresh sport story", topic="sport")
    await world.store.chats.add_topics(chat.id, ["sport"])
    chat = await world.reload(chat)

    queued = await world.planner.welcome(chat, ["sport"])
    await world.deliver()
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()

    assert queued == 1
    _, welcome, digest = world.texts(512)
    assert "Old sport story" in welcome and "Fresh sport story" not in welcome
    assert "Fresh sport story" in digest and "Old sport story" not in digest


async def test_fan_out_shares_rendering_between_alike_chats(world: World) -> None:
    chats = []
    for n in range(30):
        chats.append(await world.chat(600 + n, topics=("world", "sport") if n % 2 else ("world",)))
    await world.publish("Shared world story")
    await world.publish("Shared sport story", topic="sport")
    world.planner.batch_size = 7  # several batches
    world.clock.set(KOLKATA_8AM)

    await world.planner.plan_due()
    await world.deliver()

    for chat in chats:
        assert len(await world.digest_rows(chat)) == 1
    assert world.planner.memo_stats() == (30, 2)  # 30 chats, 2 distinct digests rendered
    assert all(len(world.texts(600 + n)) == 1 for n in range(30))
    assert "Shared sport story" in world.texts(601)[0]
    assert "Shared sport story" not in world.texts(600)[0]
    assert world.tg.rejected_429 == 0


async def test_alike_chats_of_other_languages_get_their_own_digest(world: World) -> None:
    chats = [await world.chat(700 + n, language=lang) for n, lang in enumerate(("en", "ru", "es"))]
    await world.publish("Shared world story")
    world.clock.set(KOLKATA_8AM)

    await world.planner.plan_due()
    await world.deliver()

    assert world.planner.memo_stats() == (3, 3)  # one text per language, never shared
    headers = [world.texts(chat.telegram_id)[0].split(" · Asia")[0] for chat in chats]
    assert headers == [
        "Your news digest · Mon 4 Mar 08:00",
        "Ваш дайджест новостей · пн 4 мар. 08:00",
        "Tu resumen de noticias · lun 4 mar 08:00",
    ]


async def test_plan_due_counts_the_digests_it_wrote(world: World) -> None:
    for n in range(3):
        await world.chat(700 + n)
    await world.chat(710, topics=("sport",))  # nothing new for it: no digest
    await world.publish("Counted story")
    world.clock.set(KOLKATA_8AM)

    assert await world.planner.plan_due() == 3


async def join_story(world: World, article_id: int, cluster_id: int) -> None:
    """As if the grouper had joined ``article_id`` to the story ``cluster_id``."""
    async with world.store.engine.begin() as conn:
        await conn.execute(
            update(articles).where(articles.c.id == article_id).values(cluster_id=cluster_id)
        )


async def test_article_joining_a_received_story_comes_as_an_update(world: World) -> None:
    chat = await world.chat(521, mode="instant")
    [first] = await world.publish("Cyclone model cuts track errors")
    assert await world.planner.plan_instant([first]) == 1
    [joined] = await world.publish("Ministers sign monsoon corridor deal")
    await join_story(world, joined, first)  # a wrong join, or a genuine follow-up

    assert await world.planner.plan_instant([joined]) == 1
    await world.deliver()

    _, update_digest = world.texts(521)
    assert "Updates" in update_digest and "Ministers sign monsoon corridor deal" in update_digest
    assert "Cyclone model" not in update_digest
    assert (await world.reload(chat)).cursor_article_id == joined


async def test_switching_to_instant_catches_up_what_the_last_poll_stored(world: World) -> None:
    chat = await world.chat(522)
    await world.planner.deliver_now(chat, "u1")  # nothing yet: the cursor stays
    [story] = await world.publish("Stored while the chat was still scheduled")
    assert await world.planner.plan_instant([story]) == 0  # not instant yet
    await world.store.chats.update(chat.id, mode="instant")

    assert await world.planner.catch_up(chat.id) == 1
    assert await world.planner.catch_up(chat.id) == 0
    await world.deliver()
    [message] = world.texts(522)
    assert "Stored while the chat was still scheduled" in message


async def test_welcome_and_instant_digest_at_once_show_a_story_once(world: World) -> None:
    chat = await world.chat(523, topics=(), mode="instant")
    [story] = await world.publish("Only once please")
    await world.store.chats.add_topics(chat.id, ["world"])
    chat = await world.reload(chat)

    await asyncio.gather(
        world.planner.welcome(chat, ["world"]), world.planner.plan_instant([story])
    )
    await world.deliver()

    assert sum(text.count("Only once please") for text in world.texts(523)) == 1


async def test_instant_chat_subscribing_during_a_poll_still_gets_the_story(world: World) -> None:
    """/schedule instant handled, /subscribe not yet: the poll's digest must not skip it."""
    await world.chat(524, mode="instant")  # another instant chat, following world
    chat = await world.chat(525, topics=(), mode="instant")
    [story] = await world.publish("Stored between the two commands")
    await world.planner.plan_instant([story])
    await world.store.chats.add_topics(chat.id, ["world"])

    await world.planner.welcome(await world.reload(chat), ["world"])
    await world.deliver()

    assert sum(text.count("Stored between the two commands") for text in world.texts(525)) == 1


# ---- weekdays, quiet hours, "+K more" -----------------------------------------------------


async def test_weekday_schedule_skips_the_weekend(world: World) -> None:
    # Friday 8 March 2030 08:00 in Kolkata; the next weekday slot after it is Monday 11th.
    friday_8am = KOLKATA_8AM + timedelta(days=4)
    chat = await world.chat(520)
    await world.store.chats.update(chat.id, digest_days="01234", next_digest_at=friday_8am)
    world.clock.set(friday_8am)
    await world.publish("Friday story")
    await world.planner.plan_due()
    await world.deliver()
    chat = await world.reload(chat)
    assert chat.digest_days == (0, 1, 2, 3, 4)
    assert chat.next_digest_at == KOLKATA_8AM + timedelta(days=7)  # Monday, not Saturday
    assert len(world.texts(520)) == 1


async def test_quiet_hours_hold_instant_stories_until_they_end(world: World) -> None:
    # 23:00-07:00 in Kolkata; START is 05:30 there: quiet until 07:00 (01:30 UTC).
    chat = await world.chat(521, mode="instant")
    await world.store.chats.update(chat.id, quiet_start="23:00", quiet_end="07:00")
    ids = await world.publish("Night story")
    assert await world.planner.plan_instant(ids) == 0
    chat = await world.reload(chat)
    assert chat.next_digest_at == datetime(2030, 3, 4, 1, 30, tzinfo=UTC)
    assert await world.planner.plan_due() == 0  # still quiet

    world.clock.set(datetime(2030, 3, 4, 1, 30, tzinfo=UTC))
    assert await world.planner.plan_due() == 1
    await world.deliver()
    [message] = world.texts(521)
    assert "Night story" in message
    assert (await world.reload(chat)).next_digest_at is None
    assert await world.planner.plan_due() == 0  # released once


async def test_a_cut_section_carries_a_more_button_through_the_outbox(world: World) -> None:
    chat = await world.chat(522)
    headlines = [f"Story number {n}" for n in range(8)]
    await world.publish(*headlines)
    world.clock.set(KOLKATA_8AM)
    await world.planner.plan_due()
    await world.deliver()
    [message] = world.tg.messages_to(522)
    [[button]] = message.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert button["text"] == "+3 more in World"
    assert button["callback_data"].startswith("more:world:")
    assert "more in World" not in message.plain_text
    assert chat.cursor_article_id == 0
