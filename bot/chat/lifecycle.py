"""/pause, /resume and /stop: a chat's life with the bot.

/resume counts the next digest from now, so slots missed while paused are not
delivered as a burst. /stop asks first; "Yes" erases the chat and everything
stored about it (subscriptions, digests, deliveries).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_language,
    current_chat,
    ensure_chat,
    reactivate,
    reply,
    services_from,
)
from bot.chat.keyboards import parse_stop_callback, stop_confirm_keyboard
from bot.language import tr
from bot.services import Services
from bot.store.records import Chat


async def pause_chat(services: Services, chat: Chat) -> str:
    """Pause digests; the reply to send."""
    if chat.is_paused:
        return tr(chat.language, texts.ALREADY_PAUSED)
    await services.store.chats.update(chat.id, is_paused=True)
    return tr(chat.language, texts.PAUSED)


async def resume_chat(services: Services, chat: Chat) -> str:
    """Resume digests from the next slot after now; the reply to send."""
    if not chat.is_paused:
        return tr(chat.language, texts.NOT_PAUSED)
    await reactivate(services, chat, unpause=True)
    return tr(chat.language, texts.RESUMED)


@admins_only
async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pause: no digests until /resume."""
    services = services_from(context)
    await reply(update, context, await pause_chat(services, await ensure_chat(services, update)))


@admins_only
async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resume: digests again, from the next slot."""
    services = services_from(context)
    await reply(update, context, await resume_chat(services, await ensure_chat(services, update)))


@admins_only
async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stop: ask whether to delete everything about this chat."""
    lang = await chat_language(services_from(context), update)
    await reply(update, context, tr(lang, texts.STOP_CONFIRM), stop_confirm_keyboard(lang))


@admins_only
async def confirm_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer to /stop: "Yes" erases the chat, "Cancel" changes nothing."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    await query.answer()
    if not parse_stop_callback(query.data):
        lang = await chat_language(services_from(context), update)
        await query.edit_message_text(tr(lang, texts.STOP_CANCELLED))
        return
    services = services_from(context)
    chat = await current_chat(services, update)
    lang = chat.language if chat is not None else await chat_language(services, update)
    if chat is not None:
        await services.store.chats.delete(chat.id)
    await query.edit_message_text(tr(lang, texts.STOPPED))
