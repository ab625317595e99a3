"""/digest (what is new, right now) and /search (recent stories with some words)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_key_of,
    chat_language,
    command_text,
    current_chat,
    local_time,
    reply,
    send_html,
    services_from,
)
from bot.chat.parsing import ChatInputError
from bot.digest.render import render_story_list
from bot.language import in_language, tr
from bot.services import Services
from bot.store.records import Chat

SEARCH_LIMIT = 10
MAX_SEARCH_WORDS = 8
MAX_SEARCH_CHARS = 200
HEADING_MAX_CHARS = 60
_EDGE_PUNCTUATION = ".,;:!?\"'()[]"


def search_words(text: str) -> tuple[str, ...]:
    """The words of a /search query, without repeats; ChatInputError when empty or too long."""
    if len(text) > MAX_SEARCH_CHARS:
        raise ChatInputError(in_language(texts.TOO_LONG_INPUT))
    cleaned = (word.strip(_EDGE_PUNCTUATION) for word in text.split())
    words = tuple(dict.fromkeys(word for word in cleaned if word))
    if not words:
        raise ChatInputError(in_language(texts.SEARCH_USAGE))
    return words[:MAX_SEARCH_WORDS]


async def deliver_now(services: Services, chat: Chat, request_key: str) -> str | None:
    """Queue a digest of what is new; None when queued, else the "nothing new" reply."""
    if await services.planner.deliver_now(chat, request_key):
        services.wake_sender()
        return None
    tz = chat.timezone
    return texts.nothing_new(
        local_time(chat.last_digest_at, tz),
        chat.mode,
        local_time(chat.next_digest_at, tz),
        tz,
        chat.language,
    )


@admins_only
async def send_digest_now(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest: queue what is new since the last digest (the digest itself is the answer)."""
    services = services_from(context)
    chat = await current_chat(services, update)
    if chat is None or not chat.followed:  # topics or own feeds
        lang = await chat_language(services, update)
        await reply(update, context, tr(lang, texts.NO_TOPICS_YET))
        return
    # Keyed by the update: handled again after a crash, the same /digest is not queued twice.
    answer = await deliver_now(services, chat, f"u{update.update_id}")
    if answer is not None:
        await reply(update, context, answer)


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/search <words>: the most recent matching stories, in the digest's format."""
    services = services_from(context)
    query = command_text(update)
    lang = await chat_language(services, update)
    try:
        words = search_words(query)
    except ChatInputError as err:
        await reply(update, context, err.say(lang))
        return
    articles = await services.store.articles.search(words, limit=SEARCH_LIMIT)
    chat = await current_chat(services, update)
    tz = chat.timezone if chat is not None else services.settings.timezone
    heading = f"🔎 {' '.join(words)}"[:HEADING_MAX_CHARS]
    parts = render_story_list(articles, tz, heading, now=services.clock(), lang=lang)
    if not parts:
        await reply(update, context, texts.search_none(query, lang))
        return
    key = chat_key_of(update)
    assert key is not None
    for part in parts:
        await send_html(context.bot, key, part.text)
