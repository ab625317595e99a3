"""Channels: managing a channel's digests from a private chat.

An admin adds the bot to a channel as an admin who may post; Telegram tells
the bot (a ``my_chat_member`` update) and the channel becomes a subscriber
(kind "channel"), offered by /channels to the user who added the bot. Choosing
it (a button; ``channel:<chat id>``, or ``channel:here`` for the private chat)
makes the private chat's next commands apply to the channel (``chats.target_chat_id``,
see :mod:`bot.chat.targets`), every reply headed by the channel's name. Admin
rights are asked of Telegram (getChatMember) at the choice and at each change
(:func:`bot.chat.access.may_manage_target`). The bot removed, demoted, or
stripped of the right to post marks the channel inactive, as a blocked chat;
made a posting admin again, it is active again. Channel digests are paced as
a group's (20 a minute): the sender treats every chat but a private one so.
"""

from __future__ import annotations

import logging

from telegram import Chat as TgChat
from telegram import ChatMemberAdministrator, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.chat import channel_texts as say
from bot.chat.access import can_manage_channel
from bot.chat.context import chat_language, ensure_own_chat, reply, services_from
from bot.chat.targets import managed_channel
from bot.language import DEFAULT_LANGUAGE, tr
from bot.services import Services
from bot.store.records import Chat, ChatKey

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "channel:"
HERE = "here"


async def bot_membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``my_chat_member`` in a channel: a posting admin now, or not any more."""
    change = update.my_chat_member
    if change is None or change.chat.type != TgChat.CHANNEL:
        return
    services = services_from(context)
    new = change.new_chat_member
    can_post = isinstance(new, ChatMemberAdministrator) and bool(new.can_post_messages)
    if not can_post:
        stored = await services.store.chats.get(ChatKey(change.chat.id))
        if stored is not None and stored.is_active:
            log.info("channel %s: the bot may no longer post; marked inactive", change.chat.id)
            await services.store.chats.update(stored.id, is_active=False)
        return
    channel = await ensure_own_chat(services, update)  # created or made active again
    await services.store.chats.update(
        channel.id, added_by=change.from_user.id, title=(change.chat.title or "")[:255]
    )


async def list_channels(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/channels (private chats): the user's channels as buttons, and "this chat"."""
    chat, user = update.effective_chat, update.effective_user
    services = services_from(context)
    if chat is None or user is None or chat.type != TgChat.PRIVATE:
        lang = await chat_language(services, update)
        await reply(update, context, tr(lang, say.PRIVATE_ONLY))
        return
    own = await ensure_own_chat(services, update)
    current = await managed_channel(services, own)
    channels = await services.store.chats.channels_added_by(user.id)
    if not channels:
        await reply(update, context, tr(own.language, say.NO_CHANNELS))
        return
    titles = [c.title for c in channels]
    text = say.channels_list(titles, current.title if current else None, own.language)
    await reply(update, context, text, channels_keyboard(channels, own.language))


async def choose_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /channels button: commands apply to that channel (admin checked), or here again."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None, "registered as a CallbackQueryHandler"
    services = services_from(context)
    own = await ensure_own_chat(services, update)
    chosen = (query.data or "").removeprefix(CHANNEL_PREFIX)
    target = await _active_channel(services, chosen)
    await query.answer()
    if target is None or not await can_manage_channel(context, target.telegram_id, user.id):
        await services.store.chats.update(own.id, target_chat_id=None)
        text = say.BACK_HERE if chosen == HERE else say.NOT_CHANNEL_ADMIN
        await query.edit_message_text(tr(own.language, text))
        return
    await services.store.chats.update(own.id, target_chat_id=target.id)
    await query.edit_message_text(say.managing(target.title, own.language), parse_mode="HTML")


async def _active_channel(services: Services, chosen: str) -> Chat | None:
    """The active channel a button names by its chat id, or None."""
    if not chosen.isdigit():
        return None
    found = await services.store.chats.get_by_id(int(chosen))
    return found if found is not None and found.kind == "channel" and found.is_active else None


def channels_keyboard(channels: list[Chat], lang: str = DEFAULT_LANGUAGE) -> InlineKeyboardMarkup:
    """One button per channel, then "this chat"."""
    rows = [
        [InlineKeyboardButton(say.channel_button(c.title), callback_data=f"{CHANNEL_PREFIX}{c.id}")]
        for c in channels
    ]
    here = InlineKeyboardButton(tr(lang, say.HERE_BUTTON), callback_data=f"{CHANNEL_PREFIX}{HERE}")
    rows.append([here])
    return InlineKeyboardMarkup(rows)
