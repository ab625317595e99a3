"""/start: the greeting, the topic keyboard, and deep links like t.me/<bot>?start=world.

/start also brings a paused or deactivated (it had blocked the bot) chat back:
the next digest counts from now, so nothing missed arrives as a burst.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import command_text, ensure_chat, reactivate, reply, services_from
from bot.chat.keyboards import topics_keyboard
from bot.chat.parsing import match_topics
from bot.chat.subscriptions import (
    Followed,
    follow_quietly,
    topic_names,
    unknown_lines,
    welcome,
)
from bot.language import tr
from bot.services import Services
from bot.store.records import Chat


async def greeting_for(services: Services, chat: Chat, payload: str) -> Followed:
    """The /start text; a deep-link ``payload`` naming topics subscribes to them."""
    lang = chat.language
    if not payload:
        return Followed(tr(lang, texts.WELCOME))
    settings = services.settings
    match = match_topics(payload, settings.topics)
    lines = unknown_lines(settings, match.unknown, lang)
    new: tuple[str, ...] = ()
    if match.found:
        new = await follow_quietly(services, chat, [t.id for t in match.found])
        names = topic_names(settings, [t.id for t in match.found])
        lines.insert(0, texts.deep_link_subscribed(names, lang))
    else:
        lines.insert(0, tr(lang, texts.WELCOME))
    return Followed("\n\n".join(lines), new)


@admins_only
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [topic]: greet, (re)activate the chat, show the topic keyboard."""
    services = services_from(context)
    chat = await ensure_chat(services, update)
    if chat.is_paused:
        chat = await reactivate(services, chat, unpause=True)
    greeting = await greeting_for(services, chat, command_text(update))
    if not services.settings.topics:
        no_topics = tr(chat.language, texts.NO_TOPICS_CONFIGURED)
        await reply(update, context, f"{greeting.text}\n\n{no_topics}")
        return
    fresh = await services.store.chats.get_by_id(chat.id)
    followed = fresh.topics if fresh is not None else ()
    keyboard = topics_keyboard(services.settings.topics, followed, chat.language)
    await reply(update, context, greeting.text, keyboard)
    if greeting.new:  # the welcome digest after the answer that announces it
        await welcome(services, chat.id, greeting.new)
