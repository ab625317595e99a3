"""/add, /feeds and /remove: a chat's own feeds ("My feeds"), and the remove buttons.

Adding goes through :class:`bot.chat.feed_adder.FeedAdder` (rules, guarded
fetch, discovery, one source per URL). The stories of a chat's own feeds reach
it in its digests, in a "My feeds" section, with its schedule and filters.
Callback data of a remove button: ``myfeed:rm:<source id>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.chat import own_feed_texts as say
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_language,
    command_text,
    current_chat,
    ensure_chat,
    reply,
    services_from,
)
from bot.chat.feed_adder import AddResult, FeedAdder, read_url
from bot.language import DEFAULT_LANGUAGE, tr
from bot.services import Services
from bot.store.chat_sources import OwnFeed, url_key
from bot.store.records import Chat

REMOVE_PREFIX = "myfeed:rm:"
BUTTONS_PER_ROW = 5


def adder_of(services: Services) -> FeedAdder:
    """The composition root's FeedAdder."""
    assert services.feed_adder is not None, "bot.app builds the FeedAdder"
    return services.feed_adder


async def may_add(update: Update, context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> bool:
    """Whether the chat may make the bot fetch new feeds now; if not, say why."""
    adder = adder_of(services_from(context))
    if not adder.rules.enabled:
        await reply(update, context, tr(chat.language, say.OWN_FEEDS_OFF))
        return False
    wait = adder.rate_limit.wait_seconds(chat.id)
    if wait > 0:
        await reply(update, context, say.rate_limited(wait, chat.language))
        return False
    return True


async def after_adding(services: Services, results: Sequence[AddResult]) -> None:
    """Instant chats get the new stories at once (scheduled ones at their next digest)."""
    new_ids = [i for result in results for i in result.new_article_ids]
    if new_ids and await services.planner.plan_instant(new_ids):
        services.wake_sender()


def describe(services: Services, result: AddResult, lang: str = DEFAULT_LANGUAGE) -> str:
    """The reply line for one added URL."""
    names = [t.name for t in services.settings.topics if t.id in result.topics]
    return say.add_result(result, names, adder_of(services).rules.max_per_chat, lang)


@admins_only
async def add_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add <feed or site URL>."""
    services = services_from(context)
    arg = command_text(update).strip()
    chat = await ensure_chat(services, update)
    if not arg:
        await reply(update, context, tr(chat.language, say.ADD_USAGE))
        return
    if not await may_add(update, context, chat):
        return
    result = await adder_of(services).add(chat, arg.split()[0])
    await after_adding(services, [result])
    await reply(update, context, describe(services, result, chat.language))


async def list_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feeds: the chat's own feeds with remove buttons (anyone may look)."""
    services = services_from(context)
    chat = await current_chat(services, update)
    feeds = await services.store.chat_sources.feeds_of(chat.id) if chat else []
    lang = await chat_language(services, update)
    await reply(update, context, say.feeds_list(feeds, lang), remove_keyboard(feeds))


@admins_only
async def remove_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove <number from /feeds | URL>."""
    services = services_from(context)
    arg = command_text(update).strip()
    lang = await chat_language(services, update)
    if not arg:
        await reply(update, context, tr(lang, say.REMOVE_USAGE))
        return
    chat = await current_chat(services, update)
    feeds = await services.store.chat_sources.feeds_of(chat.id) if chat else []
    feed = pick_feed(feeds, arg)
    if chat is None or feed is None:
        await reply(update, context, say.no_such_feed(arg, lang))
        return
    await services.store.chat_sources.unfollow(chat.id, feed.source_id)
    await reply(update, context, say.removed(feed.title, lang))


@admins_only
async def press_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A ✖ button under /feeds: remove that feed, redraw the list, answer with a toast."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    services = services_from(context)
    source_id = parse_remove_callback(query.data)
    chat = await current_chat(services, update)
    feeds = await services.store.chat_sources.feeds_of(chat.id) if chat else []
    feed = next((f for f in feeds if f.source_id == source_id), None)
    if chat is not None and feed is not None:
        await services.store.chat_sources.unfollow(chat.id, feed.source_id)
        feeds = [f for f in feeds if f.source_id != feed.source_id]
    lang = await chat_language(services, update)
    await query.answer(say.removed_toast(feed.title, lang) if feed else None)
    await query.edit_message_text(
        say.feeds_list(feeds, lang), parse_mode="HTML", reply_markup=remove_keyboard(feeds)
    )


def pick_feed(feeds: Sequence[OwnFeed], text: str) -> OwnFeed | None:
    """The feed ``text`` names: its number in /feeds, or its URL."""
    if text.isdigit():
        number = int(text)
        return feeds[number - 1] if 1 <= number <= len(feeds) else None
    url, refusal = read_url(text)
    if refusal is not None:
        return None
    key = url_key(url)
    return next((f for f in feeds if url_key(f.url) == key), None)


def remove_keyboard(feeds: Sequence[OwnFeed]) -> InlineKeyboardMarkup | None:
    """One ✖ button per feed, numbered as listed; None without feeds."""
    if not feeds:
        return None
    buttons = [
        InlineKeyboardButton(
            say.REMOVE_BUTTON.format(n=n), callback_data=f"{REMOVE_PREFIX}{f.source_id}"
        )
        for n, f in enumerate(feeds[: say.LIST_MAX], start=1)
    ]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def parse_remove_callback(data: str | None) -> int | None:
    """The source id a remove button carries, or None for anything else."""
    text = (data or "").removeprefix(REMOVE_PREFIX)
    return int(text) if data and data.startswith(REMOVE_PREFIX) and text.isdigit() else None
