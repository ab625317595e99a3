"""The chat edge: one module per feature, each exporting its handlers.

``routes.register_handlers(application)`` wires them all; ``routes.set_bot_commands(bot)``
publishes the command menu. Pure helpers live in ``parsing``, ``schedule_parsing``,
``timezones``, ``keyboards`` and ``texts``; the admin rule for groups is documented
in ``access``.
"""
