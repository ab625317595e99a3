"""/topics: the topic keyboard, and what pressing its buttons does.

A press toggles one topic, redraws the keyboard in place (followed topics carry
a check mark) and answers with a short toast; "Done" replaces the keyboard with
a closing line.
"""

from __future__ import annotations

from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_language,
    current_chat,
    ensure_chat,
    reply,
    services_from,
    user_language,
)
from bot.chat.keyboards import (
    CHECK_MARK,
    DONE,
    parse_topic_callback,
    topic_callback,
    topics_keyboard,
)
from bot.chat.subscriptions import follow
from bot.language import tr
from bot.services import Services
from bot.store.records import Chat


async def toggle(services: Services, chat: Chat, topic_id: str, *, to_follow: bool) -> bool:
    """Follow the topic or drop it, as the pressed button asked; True when now followed."""
    if not to_follow:
        await services.store.chats.remove_topics(chat.id, [topic_id])
        return False
    if topic_id not in chat.topics:
        await follow(services, chat, [topic_id])
    return True


def pressed_to_follow(query: CallbackQuery, topic_id: str, followed: tuple[str, ...]) -> bool:
    """What the press asks: the opposite of what the pressed keyboard showed.

    Read from the keyboard the user saw, not from the store: a press handled
    again after a crash (bot.updates) asks for the same state, not a second flip.
    """
    markup = getattr(query.message, "reply_markup", None)  # None for an inaccessible message
    data = topic_callback(topic_id)
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            if button.callback_data == data:
                return not button.text.startswith(CHECK_MARK)
    return topic_id not in followed  # no keyboard to read: flip what the store holds


async def show_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: the keyboard, with the chat's topics checked (anyone may look)."""
    services = services_from(context)
    chat = await current_chat(services, update)
    lang = chat.language if chat is not None else user_language(services, update)
    if not services.settings.topics:
        await reply(update, context, tr(lang, texts.NO_TOPICS_CONFIGURED))
        return
    followed = chat.topics if chat is not None else ()
    keyboard = topics_keyboard(services.settings.topics, followed, lang)
    await reply(update, context, tr(lang, texts.CHOOSE_TOPICS), keyboard)


@admins_only
async def toggle_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button was pressed: toggle it, redraw the keyboard, answer with a toast."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    topic_id = parse_topic_callback(query.data)
    if topic_id == DONE:
        await query.answer()
        lang = await chat_language(services_from(context), update)
        await query.edit_message_text(tr(lang, texts.TOPICS_DONE))
        return
    services = services_from(context)
    topic = services.settings.topic(topic_id or "")
    chat = await ensure_chat(services, update)
    if topic is None:  # the catalogue changed since the keyboard was drawn
        await query.answer()
        await redraw(query, services, chat.id)
        return
    to_follow = pressed_to_follow(query, topic.id, chat.topics)
    is_followed = await toggle(services, chat, topic.id, to_follow=to_follow)
    await query.answer(texts.topic_toggled_toast(topic.name, is_followed, chat.language))
    await redraw(query, services, chat.id)


async def redraw(query: CallbackQuery, services: Services, chat_id: int) -> None:
    """Redraw the keyboard under the pressed message from the stored subscriptions."""
    chat = await services.store.chats.get_by_id(chat_id)
    followed = chat.topics if chat is not None else ()
    lang = chat.language if chat is not None else services.settings.default_language
    keyboard = topics_keyboard(services.settings.topics, followed, lang)
    try:
        await query.edit_message_reply_markup(keyboard)
    except BadRequest as err:
        # Two quick presses can leave nothing to change; Telegram then says "not modified".
        if "not modified" not in err.message:
            raise
