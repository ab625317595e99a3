"""/language: which language the bot writes in for this chat.

``/language ru`` sets it at once; a bare ``/language`` shows one button per
language. A new chat starts in its first user's Telegram language when the bot
speaks it (see :func:`bot.chat.context.user_language`).
"""

from __future__ import annotations

from functools import cache

from babel import Locale
from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import command_text, ensure_chat, reply, services_from
from bot.chat.keyboards import language_keyboard, parse_language_callback
from bot.language import LANGUAGE_NAMES, LANGUAGES, tr
from bot.services import Services
from bot.store.records import Chat


def parse_language(text: str) -> str | None:
    """The language code a /language argument names ("ru", "es-419", "Español", "russian",
    "испанский": its code, or its name in any language the bot speaks), or None."""
    wanted = text.strip().casefold()
    return language_names().get(wanted) or language_names().get(wanted.split("-")[0])


@cache
def language_names() -> dict[str, str]:
    """Every way /language accepts to name a language, casefolded, to its code."""
    names = {code: code for code in LANGUAGES}
    for code in LANGUAGES:
        for shown_in in LANGUAGES:
            name = Locale.parse(code).get_display_name(shown_in) or code
            names[name.casefold()] = code
    return names


async def apply_language(services: Services, chat: Chat, lang: str) -> Chat:
    """Store the chat's language; its next digest is rendered in it."""
    updated = await services.store.chats.update(chat.id, language=lang)
    return updated or chat


@admins_only
async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language [en|ru|es]: set the chat's language, or show the choices as buttons."""
    services = services_from(context)
    chat = await ensure_chat(services, update)
    arg = command_text(update)
    if not arg:
        await reply(update, context, tr(chat.language, texts.CHOOSE_LANGUAGE), language_keyboard())
        return
    lang = parse_language(arg)
    if lang is None:
        await reply(update, context, texts.bad_language(arg, LANGUAGES, chat.language))
        return
    chat = await apply_language(services, chat, lang)
    await reply(update, context, texts.language_set(LANGUAGE_NAMES[lang], lang))


@admins_only
async def press_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /language button: set the language and answer in it (the buttons go)."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    lang = parse_language_callback(query.data)
    await query.answer()
    if lang is None:
        return
    services = services_from(context)
    await apply_language(services, await ensure_chat(services, update), lang)
    await query.edit_message_text(texts.language_set(LANGUAGE_NAMES[lang], lang))
