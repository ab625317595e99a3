"""/topics with its buttons, /subscribe, /unsubscribe and /mytopics, end to end."""

from __future__ import annotations

import pytest

from bot.app import NewsBot
from bot.chat import texts
from bot.chat.keyboards import CHECK_MARK, DONE_CALLBACK, topic_callback
from tests.chat.conftest import Person, button_labels, stored_chat
from tests.fakes.telegram import FakeTelegram


async def test_topic_buttons_toggle_in_place_with_check_marks_and_toasts(
    newsbot: NewsBot, alice: Person, tg: FakeTelegram
) -> None:
    keyboard = await alice.ask("/topics")
    assert keyboard.plain_text == texts.CHOOSE_TOPICS

    answer = await alice.press(keyboard, topic_callback("sport"))
    await tg.wait_until(lambda: len(tg.edits) == 1)

    assert answer.text == "Following Sport"
    edit = tg.edits[0]
    assert (edit.method, edit.message_id) == ("editMessageReplyMarkup", keyboard.message_id)
    assert button_labels(None, edit.reply_markup)[:2] == ["World news", f"{CHECK_MARK}Sport"]
    assert (await stored_chat(newsbot, alice.key)).topics == ("sport",)

    answer = await alice.press(keyboard, topic_callback("sport"))
    await tg.wait_until(lambda: len(tg.edits) == 2)

    assert answer.text == "Stopped following Sport"
    assert button_labels(None, tg.edits[1].reply_markup)[:2] == ["World news", "Sport"]
    assert (await stored_chat(newsbot, alice.key)).topics == ()
    assert len(alice.inbox()) == 1  # edited in place, no new messages


async def test_done_button_closes_the_keyboard(
    newsbot: NewsBot, alice: Person, tg: FakeTelegram
) -> None:
    keyboard = await alice.ask("/topics")
    await alice.press(keyboard, topic_callback("world"))
    await tg.wait_until(lambda: len(tg.edits) == 1)

    await alice.press(keyboard, DONE_CALLBACK)
    await tg.wait_until(lambda: len(tg.edits) == 2)

    assert tg.edits[1].text == texts.TOPICS_DONE
    assert tg.edits[1].reply_markup is None


async def test_topics_keyboard_shows_what_the_chat_follows(newsbot: NewsBot, alice: Person) -> None:
    await alice.ask("/subscribe world, business")

    keyboard = await alice.ask("/topics")

    labels = button_labels(keyboard)
    assert f"{CHECK_MARK}World news" in labels and f"{CHECK_MARK}Business" in labels
    assert "Sport" in labels


@pytest.mark.parametrize(
    ("typed", "expected_topics", "reply"),
    [
        ("world", ("world",), "✅ You now follow World news."),
        ("World News", ("world",), "✅ You now follow World news."),
        ("science-tech", ("science-tech",), "✅ You now follow Science & Tech."),
        ("tech, sports", ("science-tech", "sport"), "✅ You now follow Science & Tech and Sport."),
        ("🌍 international", ("world",), "✅ You now follow World news."),
    ],
)
async def test_subscribe_matches_ids_names_and_aliases(
    newsbot: NewsBot, alice: Person, typed: str, expected_topics: tuple[str, ...], reply: str
) -> None:
    answer = await alice.ask(f"/subscribe {typed}")

    assert answer.plain_text == reply
    assert set((await stored_chat(newsbot, alice.key)).topics) == set(expected_topics)


async def test_subscribe_to_an_unknown_topic_suggests_one(newsbot: NewsBot, alice: Person) -> None:
    answer = await alice.ask("/subscribe sprot")

    assert answer.plain_text == "No topic 'sprot'. Did you mean Sport? /topics lists them all."


async def test_subscribe_reports_known_unknown_and_already_followed(
    newsbot: NewsBot, alice: Person
) -> None:
    await alice.ask("/subscribe world")

    answer = await alice.ask("/subscribe world, sport, quantum gossip")

    assert answer.plain_text.splitlines() == [
        "No topic 'quantum gossip'. /topics lists them all.",
        "✅ You now follow Sport.",
        "You already follow World news.",
    ]


async def test_subscribe_without_a_topic_shows_the_keyboard(
    newsbot: NewsBot, alice: Person
) -> None:
    answer = await alice.ask("/subscribe")

    assert answer.plain_text == texts.CHOOSE_TOPICS
    assert "Done" in button_labels(answer)


@pytest.mark.parametrize(
    "odd",
    [
        "x" * 4000,
        "<b>world</b> & <script>alert(1)</script>",
        "\u200fالعالم\u200f",
        "🦄🦄🦄",
        ", , ,",
    ],
    ids=["4000-chars", "html", "rtl", "emoji", "separators"],
)
async def test_subscribe_with_odd_input_answers_sensibly(
    newsbot: NewsBot, alice: Person, odd: str
) -> None:
    answer = await alice.ask(f"/subscribe {odd}")

    assert answer.plain_text.startswith("No topic '")
    assert answer.plain_text.endswith("/topics lists them all.")
    assert len(answer.plain_text) < 500
    assert (await stored_chat(newsbot, alice.key)).topics == ()


async def test_html_in_arguments_is_shown_as_typed(newsbot: NewsBot, alice: Person) -> None:
    answer = await alice.ask("/subscribe <i>sport</i>")

    assert "'<i>sport</i>'" in answer.plain_text
    assert answer.entities == ()  # no italics: the tags were escaped


async def test_unsubscribe_one_then_all(newsbot: NewsBot, alice: Person) -> None:
    await alice.ask("/subscribe world, sport, business")

    assert (await alice.ask("/unsubscribe sport")).plain_text == "Dropped Sport."
    assert set((await stored_chat(newsbot, alice.key)).topics) == {"world", "business"}
    assert (await alice.ask("/unsubscribe sport")).plain_text == "You don't follow Sport."
    assert (await alice.ask("/unsubscribe ALL")).plain_text == texts.UNSUBSCRIBED_ALL
    assert (await stored_chat(newsbot, alice.key)).topics == ()


async def test_unsubscribe_bad_arguments(newsbot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/unsubscribe world")).plain_text == texts.NO_TOPICS_YET
    await alice.ask("/subscribe world")

    assert (await alice.ask("/unsubscribe")).plain_text == texts.UNSUBSCRIBE_USAGE
    unknown = await alice.ask("/unsubscribe wrld")
    assert unknown.plain_text == "No topic 'wrld'. Did you mean World news? /topics lists them all."
    assert (await stored_chat(newsbot, alice.key)).topics == ("world",)


async def test_mytopics_shows_every_setting_in_the_chats_zone(
    newsbot: NewsBot, alice: Person
) -> None:
    assert (await alice.ask("/mytopics")).plain_text == texts.NO_TOPICS_YET
    await alice.ask("/subscribe world, sport")
    await alice.ask("/timezone Asia/Kolkata")
    await alice.ask("/schedule 07:00 19:30")
    await alice.ask("/filter exclude football")

    answer = await alice.ask("/mytopics")

    assert answer.plain_text.splitlines() == [
        "Topics: World news and Sport",
        "Schedule: 07:00 and 19:30",
        "Time zone: Asia/Kolkata (UTC+05:30)",
        "Filters: never football",
        # 06:00 UTC is 11:30 in Kolkata: the next slot is 19:30 local the same day.
        "Next digest: Wed 15 May, 19:30",
    ]
