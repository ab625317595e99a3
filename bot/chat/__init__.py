"""The chat edge: one module per feature, each exporting its handlers.

``register_handlers(application)`` wires them all; ``set_bot_commands(bot)``
publishes the command menu. Pure helpers live in ``parsing``, ``schedule_parsing``,
``timezones``, ``keyboards`` and ``texts``; the admin rule for groups is documented
in ``access``.
"""

from bot.chat.routes import register_handlers, set_bot_commands

__all__ = ["register_handlers", "set_bot_commands"]
