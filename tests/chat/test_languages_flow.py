"""A chat in the user's language: Russian from Telegram's language_code, /language to switch."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import NewsBot
from bot.chat import texts
from bot.chat.keyboards import LANGUAGE_PREFIX
from bot.language import tr
from tests.chat.conftest import ALICE, Person, button_labels, make_settings, start_bot, stored_chat
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import FakeTelegram

OLGA = 1003  # a Russian-speaking user (and her private chat)


def russian_speaker(tg: FakeTelegram) -> Person:
    tg.private_chat(OLGA, "Ольга")
    tg.users[OLGA]["language_code"] = "ru"
    return Person(tg, OLGA, OLGA)


async def test_a_russian_speaker_gets_russian_replies_digests_and_dates(
    newsbot_with_news: NewsBot, tg: FakeTelegram, news_site: FakeNewsSite
) -> None:
    olga = russian_speaker(tg)

    start = await olga.ask("/start")
    assert start.plain_text == tr("ru", texts.WELCOME)
    assert button_labels(start)[-1] == "Готово"
    assert (await stored_chat(newsbot_with_news, olga.key)).language == "ru"

    help_text = (await olga.ask("/help")).plain_text
    assert help_text.startswith("Что я умею\n/start — Приветствие и список тем")
    assert "/language — Язык бота: /language en, ru или es" in help_text

    replies = sorted(m.plain_text for m in await olga.say("/subscribe world", replies=2))
    confirmation, welcome = replies  # in any order: the welcome digest comes through the outbox
    assert confirmation == "✅ Вы подписались: World news."
    assert welcome.startswith("👋 Приветственный дайджест: последние 24 часа — World news · UTC")
    assert welcome.endswith("Следующий дайджест: ср 15 мая 08:00. До него /digest покажет новое.")

    news_site.publish(
        "/world.xml",
        FeedItem(
            "Volcano erupts near capital",
            "https://news.example/world/volcano",
            "<p>Ash covered the capital.</p>",
            "w-3",
            datetime(2024, 5, 13, 18, 5, tzinfo=UTC),  # Monday, two days before the clock
        ),
    )
    await newsbot_with_news.store.sources.make_due()
    await newsbot_with_news.tick()
    digest = (await olga.ask("/digest")).plain_text
    assert digest.startswith("Ваш дайджест новостей · ср 15 мая 06:00 · UTC")
    assert "Volcano erupts near capital" in digest
    assert "World Wire · пн 18:05" in digest

    nothing = await olga.ask("/digest")
    assert nothing.plain_text == (
        "Ничего нового с прошлого дайджеста в 06:00. "
        "Следующий дайджест: ср 15 мая, 08:00 UTC; до него /digest покажет новое."
    )


async def test_language_command_switches_to_spanish_and_back_with_buttons(
    newsbot: NewsBot, tg: FakeTelegram
) -> None:
    olga = russian_speaker(tg)
    await olga.ask("/start")

    switched = await olga.ask("/language es")
    assert switched.plain_text == "🌐 A partir de ahora te escribo en Español."
    assert (await stored_chat(newsbot, olga.key)).language == "es"
    assert (await olga.ask("/subscribe sport")).plain_text == "✅ Ahora sigues Sport."
    assert (await olga.ask("/pause")).plain_text == tr("es", texts.PAUSED)

    choices = await olga.ask("/language")
    assert choices.plain_text == "Elige el idioma en el que te escribo:"
    assert button_labels(choices) == ["English", "Русский", "Español"]
    await olga.press(choices, f"{LANGUAGE_PREFIX}ru")
    await tg.wait_until(lambda: len(tg.edits) == 1)
    assert tg.edits[0].text == "🌐 Теперь я пишу на языке: Русский."
    assert (await stored_chat(newsbot, olga.key)).language == "ru"

    unknown = await olga.ask("/language klingon")
    assert unknown.plain_text == "Языка «klingon» я пока не знаю. Выберите один из: en, ru, es"


async def test_bad_input_is_answered_in_the_chats_language(
    newsbot: NewsBot, tg: FakeTelegram
) -> None:
    olga = russian_speaker(tg)

    answer = await olga.ask("/schedule 25:00")
    assert answer.plain_text.startswith("«25:00» не похоже на время. Время пишется как 08:00")
    assert (await olga.ask("/timezone Atlantis")).plain_text.startswith(
        "Я не знаю часового пояса «Atlantis»."
    )
    assert (await olga.ask("/nonsense")).plain_text == tr("ru", texts.UNKNOWN_COMMAND)


async def test_command_menus_are_published_in_every_language(
    newsbot: NewsBot, tg: FakeTelegram
) -> None:
    russian = tg.commands_by_scope[("default", "ru")]
    spanish = tg.commands_by_scope[("default", "es")]
    names = [name for name, _ in texts.COMMANDS]
    assert [c["command"] for c in russian] == names == [c["command"] for c in spanish]
    assert {"command": "digest", "description": "Прислать новое прямо сейчас"} in russian
    assert {"command": "digest", "description": "Envíame las novedades ahora mismo"} in spanish
    assert {"command": "digest", "description": "Send me what is new right now"} in tg.my_commands


async def test_a_language_the_bot_does_not_speak_gets_the_operators_default(
    tg: FakeTelegram, sqlite_url: str
) -> None:
    settings = make_settings(tg, sqlite_url).model_copy(update={"default_language": "es"})
    tg.private_chat(ALICE, "Alice")
    tg.users[ALICE]["language_code"] = "de"
    alice = Person(tg, ALICE, ALICE)
    async with start_bot(settings) as bot:
        assert (await alice.ask("/start")).plain_text == tr("es", texts.WELCOME)
        assert (await stored_chat(bot, alice.key)).language == "es"


async def test_schedule_and_settings_in_russian_words(newsbot: NewsBot, tg: FakeTelegram) -> None:
    olga = russian_speaker(tg)

    answer = await olga.ask("/schedule пн-пт 07:30")
    assert (
        answer.plain_text == "🕗 Дайджесты в 07:30, дни: пн–пт, UTC. Следующий: ср 15 мая, 07:30."
    )

    await olga.ask("/subscribe sport")
    settings = (await olga.ask("/mytopics")).plain_text
    assert settings.splitlines() == [
        "Темы: Sport",
        "Расписание: 07:30, дни: пн–пт",
        "Часовой пояс: UTC",
        "Фильтры: нет",
        "Следующий дайджест: ср 15 мая, 07:30",
    ]


async def test_language_by_its_name_in_any_language(newsbot: NewsBot, tg: FakeTelegram) -> None:
    olga = russian_speaker(tg)

    assert (await olga.ask("/language испанский")).plain_text.startswith("🌐 A partir de ahora")
    assert (await olga.ask("/language English")).plain_text == "🌐 From now on I write in English."
    assert (await stored_chat(newsbot, olga.key)).language == "en"
