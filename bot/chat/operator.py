"""The operators' commands (``admin_ids``, in a private chat with the bot): /admin,
/sources, /announce; their command menu; and how alerts reach them.

Who is an operator is decided by the handlers' filters (:func:`operator_filter`):
for anyone else these commands do not exist, so in a private chat they get the
usual "unknown command" answer, and the commands are in the menu of the
operators' chats only (``setMyCommands`` with ``BotCommandScopeChat``).

/announce shows a preview with Send / Cancel buttons. Send writes one outbox
digest per active chat, keyed ``announce:<token>``: the database's unique
(chat, slot) key makes a second press (or two operators' presses) harmless,
and the Sender delivers it at the usual pace like any digest. Previews wait in
memory (``bot_data``), so a restart expires them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, ExtBot
from telegram.ext import filters as ptb_filters

from bot.chat import operator_texts, texts
from bot.chat.context import chat_language, command_text, reply, services_from
from bot.language import DEFAULT_LANGUAGE, LANGUAGES, tr
from bot.services import SERVICES_KEY, Services
from bot.store.records import DigestRequest, Part
from bot.store.state import SENDING_PAUSED_UNTIL, StateRepository

log = logging.getLogger(__name__)

ANNOUNCE_PREFIX = "announce:"
PENDING_KEY = "newsbot.announcements"
MAX_PENDING = 20  # previews kept; the oldest expires first
ENQUEUE_BATCH = 1000  # chats per outbox transaction
OPERATOR_MENUS = "operator_menus"  # bot_state: the operators whose chats got the menu


def operator_filter(admin_ids: Sequence[int]) -> ptb_filters.BaseFilter:
    """New messages from an operator in a private chat (nobody when ``admin_ids`` is empty)."""
    return (
        ptb_filters.UpdateType.MESSAGE
        & ptb_filters.ChatType.PRIVATE
        & ptb_filters.User(user_id=list(admin_ids))
    )


def add_operator_handlers(application: Application) -> None:
    """Register /admin, /sources, /announce and the announcement buttons, for the
    ``admin_ids`` of the application's services.

    Must come before the catch-all for unknown commands, which then answers everyone else.
    """
    services: Services = application.bot_data[SERVICES_KEY]
    only_operators = operator_filter(services.settings.admin_ids)
    for name, handler in (
        ("admin", show_status),
        ("sources", show_sources),
        ("announce", announce),
    ):
        application.add_handler(CommandHandler(name, handler, filters=only_operators))
    application.add_handler(CallbackQueryHandler(confirm_announce, pattern=f"^{ANNOUNCE_PREFIX}"))


async def publish_operator_commands(
    bot: ExtBot, admin_ids: Sequence[int], state: StateRepository | None = None
) -> None:
    """Each operator's chat gets the usual menu plus the operator commands, in every
    language the bot speaks (Telegram shows the one of the operator's app).

    An operator who never opened a chat with the bot gets "chat not found": logged,
    and the others still get theirs. Given ``state``, the operators of the last start
    are remembered (``OPERATOR_MENUS``), and one no longer in ``admin_ids`` loses the menu.
    """
    earlier = json.loads(await state.get(OPERATOR_MENUS) or "[]") if state else []
    for former in sorted(set(earlier) - set(admin_ids)):
        await _set_menu(bot, former, with_commands=False)
    for admin_id in admin_ids:
        await _set_menu(bot, admin_id, with_commands=True)
    if state is not None:
        await state.set(OPERATOR_MENUS, json.dumps(sorted(set(admin_ids))))


def operator_menu(lang: str) -> list[BotCommand]:
    """The usual commands and the operator commands, described in ``lang``."""
    operator = [(name, tr(lang, about)) for name, about in operator_texts.OPERATOR_COMMANDS]
    return [BotCommand(name, about) for name, about in (*texts.command_menu(lang), *operator)]


async def _set_menu(bot: ExtBot, chat_id: int, *, with_commands: bool) -> None:
    """Set (or delete) one chat's own command menu in each language; a failure is logged
    once (the others would fail alike)."""
    scope = BotCommandScopeChat(chat_id)
    try:
        for lang in LANGUAGES:
            code = None if lang == DEFAULT_LANGUAGE else lang
            if with_commands:
                await bot.set_my_commands(operator_menu(lang), scope=scope, language_code=code)
            else:
                await bot.delete_my_commands(scope=scope, language_code=code)
    except TelegramError as err:
        log.warning("operator %s: menu not changed (%s); /start the bot first", chat_id, err)


async def notify_operators(bot: ExtBot, admin_ids: Sequence[int], text: str) -> int:
    """Send an alert (HTML) to every operator; returns how many got it."""
    delivered = 0
    for admin_id in admin_ids:
        try:
            await bot.send_message(admin_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as err:
            log.warning("operator %s: alert not delivered (%s)", admin_id, err)
        else:
            delivered += 1
    return delivered


async def show_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/admin: chats, subscriptions per topic, articles, queue, flood wait, last poll."""
    services = services_from(context)
    store = services.store
    by_topic = await store.chats.count_by_topic()
    names = {topic.id: topic.name for topic in services.settings.topics}
    subscriptions = {names.get(topic, topic): n for topic, n in sorted(by_topic.items())}
    sources = await store.sources.all()
    polled = [s.last_polled_at for s in sources if s.last_polled_at is not None]
    text = operator_texts.status(
        await store.chats.count_by_state(),
        subscriptions,
        await store.articles.count(),
        await store.outbox.backlog(),
        await store.state.get_time(SENDING_PAUSED_UNTIL),
        max(polled, default=None),
        services.clock(),
        await chat_language(services, update),
    )
    await reply(update, context, text)


async def show_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: each source's health, failing ones first, with the last error."""
    services = services_from(context)
    sources = await services.store.sources.all()
    lang = await chat_language(services, update)
    await reply(update, context, operator_texts.sources_health(sources, services.clock(), lang))


async def announce(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/announce <text>: a preview of the message and how many chats get it, with buttons."""
    services = services_from(context)
    raw = command_text(update).strip()
    lang = await chat_language(services, update)
    if not raw:
        await reply(update, context, tr(lang, operator_texts.ANNOUNCE_USAGE))
        return
    body = operator_texts.announcement(raw)
    if len(body) > operator_texts.ANNOUNCE_MAX_CHARS:
        await reply(update, context, operator_texts.announce_too_long(len(body), lang))
        return
    token = _remember(context, body)
    chat_count = len(await services.store.chats.reachable_ids())
    preview = operator_texts.announce_preview(body, chat_count, lang)
    await reply(update, context, preview, _announce_keyboard(token, lang))


async def confirm_announce(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send or Cancel under a preview: Send queues the announcement for every active chat."""
    query = update.callback_query
    assert query is not None, "registered as a CallbackQueryHandler"
    services = services_from(context)
    user = update.effective_user
    if user is None or user.id not in services.settings.admin_ids:
        await query.answer()  # not an operator's button: nothing happens
        return
    await query.answer()
    action, _, token = (query.data or "").removeprefix(ANNOUNCE_PREFIX).partition(":")
    body = _pending(context).pop(token, None)
    lang = await chat_language(services, update)
    if body is None:
        await query.edit_message_text(tr(lang, operator_texts.ANNOUNCE_EXPIRED))
        return
    if action != "send":
        await query.edit_message_text(tr(lang, operator_texts.ANNOUNCE_CANCELLED))
        return
    queued = await enqueue_announcement(services, token, body)
    await query.edit_message_text(operator_texts.announce_queued(queued, lang))


async def enqueue_announcement(services: Services, token: str, body: str) -> int:
    """One outbox digest ``announce:<token>`` per active chat; returns how many chats."""
    chat_ids = await services.store.chats.reachable_ids()
    for start in range(0, len(chat_ids), ENQUEUE_BATCH):
        batch = chat_ids[start : start + ENQUEUE_BATCH]
        await services.store.outbox.enqueue([_announcement_for(cid, token, body) for cid in batch])
    services.wake_sender()
    log.info("announcement %s queued for %d chats", token, len(chat_ids))
    return len(chat_ids)


def _announcement_for(chat_id: int, token: str, body: str) -> DigestRequest:
    """A digest that moves nothing: cursor 0 and no times keep the chat's own (max/coalesce)."""
    return DigestRequest(
        chat_id=chat_id,
        kind="announce",
        slot_key=f"{ANNOUNCE_PREFIX}{token}",
        parts=(Part(body),),
        max_article_id=0,
        next_digest_at=None,
        last_digest_at=None,
    )


def _announce_keyboard(token: str, lang: str) -> InlineKeyboardMarkup:
    send = InlineKeyboardButton(
        tr(lang, operator_texts.ANNOUNCE_SEND_BUTTON),
        callback_data=f"{ANNOUNCE_PREFIX}send:{token}",
    )
    cancel = InlineKeyboardButton(
        tr(lang, operator_texts.ANNOUNCE_CANCEL_BUTTON),
        callback_data=f"{ANNOUNCE_PREFIX}cancel:{token}",
    )
    return InlineKeyboardMarkup([[send, cancel]])


def _pending(context: ContextTypes.DEFAULT_TYPE) -> dict[str, str]:
    """Previewed announcements (the text as it will be sent) by token."""
    pending: dict[str, str] = context.bot_data.setdefault(PENDING_KEY, {})
    return pending


def _remember(context: ContextTypes.DEFAULT_TYPE, announcement: str) -> str:
    """Keep a previewed announcement under a fresh random token (the oldest expire)."""
    pending = _pending(context)
    while len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))
    token = secrets.token_hex(6)
    pending[token] = announcement
    return token
