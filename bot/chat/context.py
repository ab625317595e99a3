"""What every chat handler needs: the chat an update belongs to, its row, and a reply.

A subscriber is a :class:`ChatKey`: the Telegram chat id plus the forum thread
the message was written in (0 when the chat has no topics or the message is
in the forum's General topic). Each thread of a forum is a separate subscriber
and every reply goes back into the thread it answers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram import Chat as TgChat
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.chat.channel_texts import target_prefix
from bot.chat.parsing import parse_command_args
from bot.chat.targets import applies_to
from bot.digest.slots import next_digest_at
from bot.language import language_of
from bot.services import SERVICES_KEY, Services
from bot.store.records import Chat, ChatKey, ChatMode

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def services_from(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The Services the composition root stored in ``bot_data``."""
    return context.bot_data[SERVICES_KEY]


def thread_of(message: Message | None) -> int:
    """The forum thread of a message, 0 outside forum topics.

    In a normal group ``message_thread_id`` is set on reply chains too; only
    ``is_topic_message`` says it is a forum topic we can post into.
    """
    if message is None or not message.is_topic_message or not message.message_thread_id:
        return 0
    return message.message_thread_id


def chat_key_of(update: Update) -> ChatKey | None:
    """The subscriber an update belongs to (None for updates without a chat)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return ChatKey(chat.id, thread_of(update.effective_message))


def next_slot(
    mode: ChatMode,
    times: tuple[str, ...] | list[str],
    tz: str,
    now: datetime,
    days: tuple[int, ...] = (),
) -> datetime | None:
    """When a chat with this schedule (on weekdays ``days``, all when empty) gets its
    next digest (None unless scheduled)."""
    if mode != "scheduled" or not times:
        return None
    return next_digest_at(times, tz, now, days)


def local_time(moment: datetime | None, tz: str) -> datetime | None:
    """``moment`` in the chat's zone, for showing it (None stays None)."""
    return None if moment is None else moment.astimezone(ZoneInfo(tz))


async def ensure_chat(services: Services, update: Update) -> Chat:
    """The chat this update's command applies to: the channel a private chat manages
    (/channels), else the update's own chat (see :func:`ensure_own_chat`)."""
    return await applies_to(services, await ensure_own_chat(services, update))


async def ensure_own_chat(services: Services, update: Update) -> Chat:
    """The chat row of this update, created with the configured defaults when new.

    A chat marked inactive (it had blocked the bot) that writes to us again is
    reachable again, so it is re-activated with its next slot computed from now.
    """
    key = chat_key_of(update)
    tg_chat = update.effective_chat
    assert key is not None and tg_chat is not None, "handlers only run on chat updates"
    settings = services.settings
    now = services.clock()
    chat = await services.store.chats.ensure(
        key,
        kind=tg_chat.type,
        title=tg_chat.title or tg_chat.full_name or "",
        timezone=settings.timezone,
        digest_times=settings.digest_times,
        next_digest_at=next_slot("scheduled", settings.digest_times, settings.timezone, now),
        language=user_language(services, update),
    )
    if chat.is_active:
        return chat
    return await reactivate(services, chat, unpause=False)


def user_language(services: Services, update: Update) -> str:
    """The language of the update's sender as the bot speaks it (their Telegram
    ``language_code``), else the operator's ``default_language``."""
    user = update.effective_user
    code = user.language_code if user is not None else None
    return language_of(code, services.settings.default_language)


async def chat_language(services: Services, update: Update) -> str:
    """The language to answer this update in: its chat's (the managed channel's for a
    private chat managing one), else the sender's (nothing is created). A failing
    database costs the chat's choice, never the reply."""
    try:
        chat = await current_chat(services, update)
    except SQLAlchemyError as err:
        log.warning("could not read the chat's language: %s", err)
        chat = None
    return chat.language if chat is not None else user_language(services, update)


async def reactivate(services: Services, chat: Chat, *, unpause: bool) -> Chat:
    """Mark the chat active (and unpaused if asked); the next slot counts from now.

    Counting from now means missed slots are not delivered as a burst.
    """
    fields: dict[str, object] = {
        "is_active": True,
        "next_digest_at": next_slot(
            chat.mode, chat.digest_times, chat.timezone, services.clock(), chat.digest_days
        ),
    }
    if unpause:
        fields["is_paused"] = False
    updated = await services.store.chats.update(chat.id, **fields)
    return updated or chat


async def current_chat(services: Services, update: Update) -> Chat | None:
    """The stored chat this update's command applies to (a managed channel, else its
    own), or None (nothing is created)."""
    key = chat_key_of(update)
    own = None if key is None else await services.store.chats.get(key)
    return None if own is None else await applies_to(services, own)


async def send_html(
    bot: Bot, key: ChatKey, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Send HTML ``text`` to the chat's thread, without link previews."""
    return await bot.send_message(
        key.telegram_id,
        text,
        parse_mode=ParseMode.HTML,
        message_thread_id=key.thread_id or None,
        reply_markup=markup,
        link_preview_options=_NO_PREVIEW,
    )


async def reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Answer an update in its chat and thread (HTML; user text must be escaped already)."""
    key = chat_key_of(update)
    if key is None:
        return None
    if update.effective_chat is not None and update.effective_chat.type == TgChat.PRIVATE:
        text = await _with_target(services_from(context), key, text)
    return await send_html(context.bot, key, text, markup)


async def _with_target(services: Services, key: ChatKey, text: str) -> str:
    """``text`` under the name of the channel the private chat manages, if any.

    A failing database costs the heading, never the reply (the apology for a
    failure goes through here too).
    """
    try:
        title = await services.store.chats.target_title(key)
    except SQLAlchemyError as err:
        log.warning("could not read the chat's managed channel: %s", err)
        return text
    return text if title is None else target_prefix(title) + text


def command_text(update: Update) -> str:
    """Everything typed after the command (and its @botname), line breaks kept."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    return parse_command_args(message.text)[1]
