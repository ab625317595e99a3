"""Telegram updates in and handled: the receiver stores them, the dispatcher runs the handlers.

Between the two sits the durable inbox (``bot.store.inbox``): an update is
stored before Telegram is told it arrived, and handled from the table, so a
crash loses no command.
"""

from bot.updates.dispatcher import UpdateDispatcher
from bot.updates.receiver import UpdateReceiver

__all__ = ["UpdateDispatcher", "UpdateReceiver"]
