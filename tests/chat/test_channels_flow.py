"""Channels: the bot made a channel's admin, managed from a private chat with /channels."""

from __future__ import annotations

from bot.app import NewsBot
from bot.chat import channel_texts
from bot.store.records import ChatKey
from tests.chat.conftest import (
    ADMIN,
    MEMBER,
    WORLD_ITEMS,
    Person,
    button_labels,
    eventually,
    stored_chat,
)
from tests.fakes.telegram import FakeTelegram, SentMessage

CHANNEL = -1009000
BOB = 1002


async def channel_with_bot(bot: NewsBot, tg: FakeTelegram, added_by: int) -> int:
    """Garden News, whose admin ``added_by`` makes the bot a posting admin; its chat id."""
    tg.channel(CHANNEL, "Garden News", admins={added_by})
    await tg.set_bot_in_channel(CHANNEL, added_by, "administrator")

    async def stored() -> bool:
        chat = await bot.store.chats.get(ChatKey(CHANNEL))
        return chat is not None and chat.added_by == added_by

    await eventually(stored)
    return (await stored_chat(bot, ChatKey(CHANNEL))).id


async def test_an_admin_manages_the_channel_and_its_digests_land_there(
    newsbot_with_news: NewsBot, tg: FakeTelegram, alice: Person
) -> None:
    bot = newsbot_with_news
    channel_id = await channel_with_bot(bot, tg, alice.user_id)

    listing = await alice.ask("/channels")
    assert button_labels(listing) == ["📢 Garden News", "💬 This chat"]
    assert "Now managing 📢 <b>Garden News</b>" in await choose(
        alice, listing, f"channel:{channel_id}"
    )

    confirmation = await alice.ask("/subscribe world")
    assert confirmation.plain_text == "📢 Garden News\n✅ You now follow World news."
    [welcome] = await tg.wait_for_messages(CHANNEL, 1)
    assert WORLD_ITEMS[0].title in welcome.plain_text
    assert (await stored_chat(bot, ChatKey(CHANNEL))).topics == ("world",)
    assert (await stored_chat(bot, alice.key)).topics == ()

    listing = await alice.ask("/channels")
    assert listing.plain_text.startswith("📢 Garden News\nCommands apply to 📢 Garden News.")
    assert await choose(alice, listing, "channel:here") == channel_texts.BACK_HERE
    assert (await alice.ask("/mytopics")).plain_text.startswith("Topics: none yet")


async def test_admin_rights_are_checked_at_each_change(
    newsbot_with_news: NewsBot, tg: FakeTelegram, alice: Person
) -> None:
    bot = newsbot_with_news
    channel_id = await channel_with_bot(bot, tg, alice.user_id)
    listing = await alice.ask("/channels")
    await choose(alice, listing, f"channel:{channel_id}")

    tg.chats[CHANNEL].admins.discard(alice.user_id)  # demoted in the channel
    refused = await alice.ask("/schedule 09:00")

    assert refused.plain_text == channel_texts.NOT_CHANNEL_ADMIN
    assert (await stored_chat(bot, ChatKey(CHANNEL))).digest_times == ("08:00",)
    assert (await stored_chat(bot, alice.key)).target_chat_id is None


async def test_a_non_admin_cannot_choose_the_channel(
    newsbot_with_news: NewsBot, tg: FakeTelegram, alice: Person
) -> None:
    bot = newsbot_with_news
    tg.private_chat(BOB, "Bob")
    bob = Person(tg, BOB, BOB)
    channel_id = await channel_with_bot(bot, tg, BOB)  # Bob added the bot
    tg.chats[CHANNEL].admins.discard(BOB)

    listing = await bob.ask("/channels")
    chosen = await choose(bob, listing, f"channel:{channel_id}")

    assert chosen == channel_texts.NOT_CHANNEL_ADMIN
    assert (await stored_chat(bot, bob.key)).target_chat_id is None


async def test_the_bot_removed_or_unable_to_post_marks_the_channel_inactive(
    newsbot_with_news: NewsBot, tg: FakeTelegram, alice: Person
) -> None:
    bot = newsbot_with_news
    await channel_with_bot(bot, tg, alice.user_id)

    await tg.set_bot_in_channel(CHANNEL, alice.user_id, "administrator", can_post=False)

    async def inactive() -> bool:
        return not (await stored_chat(bot, ChatKey(CHANNEL))).is_active

    await eventually(inactive)
    assert (await alice.ask("/channels")).plain_text == channel_texts.NO_CHANNELS
    await tg.set_bot_in_channel(CHANNEL, alice.user_id, "administrator")
    await eventually(lambda: _active(bot))
    await tg.set_bot_in_channel(CHANNEL, alice.user_id, "left")
    await eventually(inactive)


async def choose(person: Person, listing: SentMessage, data: str) -> str:
    """Press a /channels button; the text the bot edits the message into."""
    before = len(person.tg.edits)
    await person.press(listing, data)
    await person.tg.wait_until(lambda: len(person.tg.edits) > before)
    return person.tg.edits[-1].text or ""


async def _active(bot: NewsBot) -> bool:
    return (await stored_chat(bot, ChatKey(CHANNEL))).is_active


async def test_channels_only_from_a_private_chat(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100500, "World", admins={ADMIN}, members={MEMBER})

    reply = await Person(tg, -100500, ADMIN).ask("/channels")

    assert reply.plain_text == channel_texts.PRIVATE_ONLY
