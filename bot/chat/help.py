"""/help, and the pointer to it for commands we do not know (private chats only)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.context import chat_language, reply, services_from
from bot.language import tr


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: every command with one line (anyone may ask)."""
    await reply(update, context, texts.help_text(await _language(update, context)))


async def point_to_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown command in a private chat: say so and point to /help.

    Groups are left alone: there the command is probably another bot's.
    """
    await reply(update, context, tr(await _language(update, context), texts.UNKNOWN_COMMAND))


async def _language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    return await chat_language(services_from(context), update)
