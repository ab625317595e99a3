"""Who may change a chat's settings.

The rule: in a private chat, its user. In a group or supergroup, only the chat's
administrators (creator included, and anonymous admins who post as the group).
Everyone may read: /help, /mytopics, /search and /topics (the keyboard shows,
but pressing a button is a change and is checked). /digest is admin-only in
groups because it posts to everybody and moves the group's digest cursor.

Admin status comes from getChatMember and is cached for
``Services.admin_cache_seconds``, so a busy group does not cost one API call
per command; a demoted admin keeps the right for at most that long.
"""

from __future__ import annotations

import functools
import html
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat as TgChat
from telegram import ChatMember, ChatMemberAdministrator, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.channel_texts import NOT_CHANNEL_ADMIN
from bot.chat.context import chat_key_of, chat_language, reply, services_from
from bot.chat.targets import managed_channel
from bot.language import tr

log = logging.getLogger(__name__)

ADMIN_CACHE_KEY = "newsbot.admin_cache"
ADMIN_STATUSES = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR})

# PTB's handlers take coroutine functions (it schedules them as tasks), not any awaitable.
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class AdminCache:
    """Recent answers to "is this user an admin of this chat?", each kept ``ttl_seconds``."""

    ttl_seconds: float
    now: Callable[[], float] = time.monotonic
    _entries: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)

    def get(self, chat_id: int, user_id: int) -> bool | None:
        """The cached answer, or None when unknown or expired."""
        entry = self._entries.get((chat_id, user_id))
        if entry is None or entry[1] <= self.now():
            return None
        return entry[0]

    def put(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        """Remember an answer for ``ttl_seconds``."""
        self._entries[(chat_id, user_id)] = (is_admin, self.now() + self.ttl_seconds)


def admin_cache(context: ContextTypes.DEFAULT_TYPE) -> AdminCache:
    """The application's admin cache (made on first use)."""
    cache = context.bot_data.get(ADMIN_CACHE_KEY)
    if cache is None:
        cache = AdminCache(services_from(context).admin_cache_seconds)
        context.bot_data[ADMIN_CACHE_KEY] = cache
    return cache


def is_group(chat: TgChat | None) -> bool:
    """True for groups and supergroups (where the admin rule applies)."""
    return chat is not None and chat.type in (TgChat.GROUP, TgChat.SUPERGROUP)


async def may_change_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the sender of this update may change the chat's settings."""
    chat = update.effective_chat
    if chat is None or chat.type == TgChat.CHANNEL:
        return False
    if chat.type == TgChat.PRIVATE:
        return await may_manage_target(update, context)
    if not is_group(chat):
        return True
    message = update.effective_message
    # An anonymous admin writes "as the group": sender_chat is the group itself.
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    return user is not None and await is_admin(context, chat.id, user.id)


async def may_manage_target(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In a private chat: True, unless it manages a channel whose admin the user no longer
    is or where the bot may no longer post. Asked of Telegram at each change, uncached;
    a refused target is dropped (commands apply to the private chat again)."""
    services = services_from(context)
    key = chat_key_of(update)
    own = None if key is None else await services.store.chats.get(key)
    target = None if own is None else await managed_channel(services, own)
    user = update.effective_user
    if own is None or target is None:
        return True
    if user is not None and await can_manage_channel(context, target.telegram_id, user.id):
        return True
    await services.store.chats.update(own.id, target_chat_id=None)
    return False


async def can_manage_channel(
    context: ContextTypes.DEFAULT_TYPE, channel_id: int, user_id: int
) -> bool:
    """Whether the user administers the channel and the bot may post there (getChatMember
    for both, uncached)."""
    try:
        member = await context.bot.get_chat_member(channel_id, user_id)
        bot_member = await context.bot.get_chat_member(channel_id, context.bot.id)
    except (BadRequest, Forbidden) as err:
        log.warning("getChatMember in channel %s failed: %s", channel_id, err)
        return False
    can_post = isinstance(bot_member, ChatMemberAdministrator) and bool(
        bot_member.can_post_messages
    )
    return member.status in ADMIN_STATUSES and (can_post or bot_member.status == "creator")


async def is_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
    """Whether the user administers the chat (getChatMember, cached)."""
    cache = admin_cache(context)
    known = cache.get(chat_id, user_id)
    if known is not None:
        return known
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden) as err:
        log.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, err)
        return False
    answer = member.status in ADMIN_STATUSES
    cache.put(chat_id, user_id, answer)
    return answer


async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell a non-admin no: a toast under a button, else a reply."""
    chat = update.effective_chat
    lang = await chat_language(services_from(context), update)
    text = tr(lang, texts.ADMINS_ONLY)
    if chat is not None and chat.type == TgChat.PRIVATE:  # a channel it managed
        text = tr(lang, NOT_CHANNEL_ADMIN)
    query = update.callback_query
    if query is not None:
        await query.answer(html.unescape(text), show_alert=True)
        return
    await reply(update, context, text)


def admins_only(handler: Handler) -> Handler:
    """Run ``handler`` only for senders who may change settings; refuse everyone else."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await may_change_settings(update, context):
            await handler(update, context)
        else:
            await refuse(update, context)

    return guarded
