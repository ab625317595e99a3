"""The "+K more" button under a digest: send the rest of that section.

The digest came through the outbox; the press is answered here, directly: the
section's left-out stories are worked out again from the store (see
``bot.digest.expand``) and sent as new messages in the chat's thread, and the
pressed button leaves the digest's keyboard, so one press sends them once. The
chat's cursor does not move: these stories were already counted as received.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.context import chat_key_of, chat_language, current_chat, send_html, services_from
from bot.digest.expand import MoreRequest, parse_more_data, rest_of_section
from bot.digest.planner import CANDIDATE_LIMIT
from bot.digest.render import render_section, section_name
from bot.digest.wording import more_title
from bot.language import tr
from bot.services import Services
from bot.store.records import Chat


async def show_more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A "+K more" button was pressed: send the section's other stories."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    request = parse_more_data(query.data)
    services = services_from(context)
    chat = await current_chat(services, update)
    key = chat_key_of(update)
    if request is None or chat is None or key is None:
        await query.answer(tr(await chat_language(services, update), texts.MORE_GONE))
        return
    texts_to_send = await _rest(services, chat, request)
    await query.answer(None if texts_to_send else tr(chat.language, texts.MORE_GONE))
    for text in texts_to_send:
        await send_html(context.bot, key, text)
    await _drop_button(query)


async def _rest(services: Services, chat: Chat, request: MoreRequest) -> list[str]:
    """The messages that show the rest of the section (none when nothing is left)."""
    topics = tuple(dict.fromkeys([*chat.topics, request.topic_id]))
    articles = await services.store.articles.candidates(
        topics, after_id=request.cursor, since=request.since, limit=CANDIDATE_LIMIT
    )
    section = rest_of_section(
        request,
        articles,
        topics=chat.topics,
        catalogue=services.settings.topics,
        include_words=chat.include_words,
        exclude_words=chat.exclude_words,
    )
    if section is None:
        return []
    name = more_title(section_name(section, chat.language), chat.language)
    titled = replace(section, topic_name=name)
    parts = render_section(titled, chat.timezone, now=services.clock(), lang=chat.language)
    return [part.text for part in parts]


async def _drop_button(query: CallbackQuery) -> None:
    """Take the pressed button off the digest's keyboard (the others stay)."""
    message = query.message
    markup = getattr(message, "reply_markup", None)
    rows = markup.inline_keyboard if isinstance(markup, InlineKeyboardMarkup) else ()
    kept: list[list[InlineKeyboardButton]] = []
    for row in rows:
        buttons = [b for b in row if b.callback_data != query.data]
        if buttons:
            kept.append(buttons)
    try:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(kept) if kept else None)
    except BadRequest as err:
        # A second press before the first edit arrived: nothing left to change.
        if "not modified" not in err.message:
            raise
