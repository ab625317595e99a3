"""/help, and the pointer to it for commands we do not know (private chats only)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.context import reply


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: every command with one line (anyone may ask)."""
    await reply(update, context, texts.help_text())


async def point_to_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown command in a private chat: say so and point to /help.

    Groups are left alone: there the command is probably another bot's.
    """
    await reply(update, context, texts.UNKNOWN_COMMAND)
