"""Telegram updates in and handled: a receiver stores them, the dispatcher runs the handlers.

Between them sits the durable inbox (``bot.store.inbox``): an update is
stored before Telegram is told it arrived, and handled from the table, so a
crash loses no command. Two receivers take one path into it (``intake.py``):
long polling (``receiver.py``) and the webhook (``webhook.py``).
"""

from bot.updates.dispatcher import UpdateDispatcher
from bot.updates.intake import UpdateIntake
from bot.updates.receiver import UpdateReceiver
from bot.updates.webhook import WebhookReceiver, delete_webhook, set_webhook

__all__ = [
    "UpdateDispatcher",
    "UpdateIntake",
    "UpdateReceiver",
    "WebhookReceiver",
    "delete_webhook",
    "set_webhook",
]
