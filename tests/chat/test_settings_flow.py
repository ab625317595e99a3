"""/schedule, /timezone, /filter, /pause and /resume, end to end.

The clock reads Wednesday 15 May 2024, 06:00 UTC.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import NewsBot
from bot.chat import texts
from tests.chat.conftest import NOW, Person, stored_chat


async def test_schedule_sets_times_and_the_next_slot(newsbot: NewsBot, alice: Person) -> None:
    answer = await alice.ask("/schedule 19:00 7:30")

    assert answer.plain_text == ("🕗 Digests at 07:30 and 19:00, UTC. Next one: Wed 15 May, 07:30.")
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.mode, chat.digest_times) == ("scheduled", ("07:30", "19:00"))
    assert chat.next_digest_at is not None
    assert chat.next_digest_at.isoformat() == "2024-05-15T07:30:00+00:00"


async def test_schedule_instant_and_off(newsbot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/schedule instant")).plain_text.startswith("⚡")
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.mode, chat.next_digest_at) == ("instant", None)

    assert (await alice.ask("/schedule off")).plain_text.startswith("Scheduled digests are off")
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.mode, chat.next_digest_at, chat.digest_times) == ("off", None, ("08:00",))

    await alice.ask("/schedule 08:00")
    chat = await stored_chat(newsbot, alice.key)
    assert chat.mode == "scheduled" and chat.next_digest_at is not None


@pytest.mark.parametrize(
    ("typed", "starts"),
    [
        ("", "Times look like 08:00"),
        ("25:00", "'25:00' is not a time I can read."),
        ("soon", "'soon' is not a time I can read."),
        (" ".join(["08:00"] * 40), "At most 12 digests a day"),
        ("<b>9</b>", "'&lt;b&gt;9&lt;/b&gt;' is not"),
    ],
)
async def test_schedule_bad_arguments_change_nothing(
    newsbot: NewsBot, alice: Person, typed: str, starts: str
) -> None:
    await alice.ask("/start")

    answer = await alice.ask(f"/schedule {typed}")

    assert answer.text.startswith(starts)
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.mode, chat.digest_times) == ("scheduled", ("08:00",))


@pytest.mark.parametrize(
    ("typed", "zone", "shown", "local_now"),
    [
        ("Asia/Kolkata", "Asia/Kolkata", "Asia/Kolkata (UTC+05:30)", "11:30"),
        ("+05:30", "Asia/Kolkata", "Asia/Kolkata (UTC+05:30)", "11:30"),
        ("tokyo", "Asia/Tokyo", "Asia/Tokyo (UTC+09:00)", "15:00"),
        ("UTC-3", "Etc/GMT+3", "UTC-03:00", "03:00"),
        ("-05:00", "Etc/GMT+5", "UTC-05:00", "01:00"),
        ("+01:00", "Etc/GMT-1", "UTC+01:00", "07:00"),
    ],
)
async def test_timezone_shows_local_time_and_moves_the_next_slot(
    newsbot: NewsBot, alice: Person, typed: str, zone: str, shown: str, local_now: str
) -> None:
    answer = await alice.ask(f"/timezone {typed}")

    assert answer.plain_text == f"🌍 Time zone set to {shown}. It's {local_now} there now."
    assert "GMT" not in answer.plain_text  # never the POSIX-inverted name
    chat = await stored_chat(newsbot, alice.key)
    assert chat.timezone == zone
    # The 08:00 digest is now 08:00 in the new zone.
    assert chat.next_digest_at is not None
    local = chat.next_digest_at.astimezone(ZoneInfo(zone))
    assert local.strftime("%H:%M") == "08:00"
    assert NOW < chat.next_digest_at <= NOW + timedelta(days=1)


async def test_timezone_bad_and_missing_arguments(newsbot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/timezone")).plain_text.startswith("Your time zone is UTC.")
    bad = await alice.ask("/timezone Mars/Olympus_Mons")
    assert bad.plain_text.startswith("I don't know the time zone 'Mars/Olympus_Mons'.")
    offset = await alice.ask("/timezone +05:10")
    assert offset.plain_text.startswith("No place uses the offset '+05:10'.")
    long = await alice.ask("/timezone " + "Europe/" * 500)
    assert long.plain_text.startswith("I don't know the time zone")
    assert (await stored_chat(newsbot, alice.key)).timezone == "UTC"


async def test_filter_include_exclude_and_clear(newsbot: NewsBot, alice: Person) -> None:
    answer = await alice.ask('/filter include climate "Electric cars"')
    assert answer.plain_text == (
        "Filters: only stories with climate or electric cars\n/filter clear removes them."
    )
    await alice.ask("/filter exclude climate, football")

    chat = await stored_chat(newsbot, alice.key)
    assert chat.include_words == ("electric cars",)
    assert chat.exclude_words == ("climate", "football")

    assert (await alice.ask("/filter clear")).plain_text == texts.filters_text((), ())
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.include_words, chat.exclude_words) == ((), ())


async def test_filter_bad_arguments(newsbot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/filter")).plain_text.startswith("No filters")
    assert (await alice.ask("/filter maybe rain")).text == texts.filter_usage()
    assert (await alice.ask("/filter include")).text == texts.filter_usage()
    long_word = await alice.ask("/filter exclude " + "a" * 50)
    assert "is too long" in long_word.plain_text
    many = await alice.ask("/filter include " + " ".join(f"w{i}" for i in range(30)))
    assert many.plain_text == texts.too_many_words(20)
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.include_words, chat.exclude_words) == ((), ())


async def test_pause_and_resume(newsbot: NewsBot, alice: Person) -> None:
    await alice.ask("/subscribe world")

    assert (await alice.ask("/pause")).plain_text == texts.PAUSED
    assert (await stored_chat(newsbot, alice.key)).is_paused
    assert (await alice.ask("/pause")).plain_text == texts.ALREADY_PAUSED
    assert "Paused" in (await alice.ask("/mytopics")).plain_text

    chat = await stored_chat(newsbot, alice.key)
    await newsbot.store.chats.update(chat.id, next_digest_at=chat.created_at.replace(year=2020))
    assert (await alice.ask("/resume")).plain_text == texts.RESUMED

    chat = await stored_chat(newsbot, alice.key)
    assert not chat.is_paused
    # Counted from now: no slot in the past, so no burst of missed digests.
    assert chat.next_digest_at is not None
    assert chat.next_digest_at.isoformat() == "2024-05-15T08:00:00+00:00"
    assert (await alice.ask("/resume")).plain_text == texts.NOT_PAUSED
