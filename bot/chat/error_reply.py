"""The last resort: a handler failed. Log it, and tell the chat instead of going silent."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.context import chat_language, reply, services_from
from bot.language import tr

log = logging.getLogger(__name__)


async def report_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PTB error handler: log the failure, then apologise in the chat (and under a button)."""
    error = context.error
    where = update.update_id if isinstance(update, Update) else "a job"
    log.error("handling %s failed", where, exc_info=error)
    if not isinstance(update, Update):
        return
    lang = await chat_language(services_from(context), update)
    await _answer_button(update, lang)
    try:
        await reply(update, context, tr(lang, texts.SOMETHING_WENT_WRONG))
    except TelegramError as err:  # the chat may be unreachable; there is nobody to tell
        log.warning("could not report the failure to the chat: %s", err)


async def _answer_button(update: Update, lang: str) -> None:
    """Stop the button's spinner; it may have been answered before the failure."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(tr(lang, texts.SOMETHING_WENT_WRONG))
    except TelegramError as err:
        log.debug("callback query already answered: %s", err)
