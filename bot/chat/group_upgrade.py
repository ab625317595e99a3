"""A group upgraded to a supergroup gets a new chat id; its settings move with it.

Telegram sends two service messages: ``migrate_to_chat_id`` in the old group
and ``migrate_from_chat_id`` in the new supergroup. Either one moves the rows;
the second finds nothing left to move, so handling both is harmless.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.context import services_from

log = logging.getLogger(__name__)


def migration_ids(update: Update) -> tuple[int, int] | None:
    """(old id, new id) of a migration service message, else None."""
    message = update.effective_message
    if message is None:
        return None
    if message.migrate_to_chat_id:
        return message.chat.id, message.migrate_to_chat_id
    if message.migrate_from_chat_id:
        return message.migrate_from_chat_id, message.chat.id
    return None


async def migrate_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Move the group's chat rows (every thread) to the supergroup's id."""
    ids = migration_ids(update)
    if ids is None:
        return
    moved = await services_from(context).store.chats.migrate(*ids)
    if moved:
        log.info("chat %s migrated to %s (%d subscriber rows)", ids[0], ids[1], moved)
