"""``newsbot shell``: the bot offline, in a terminal, with a Bot API stand-in.

``console`` reads what the user types and drives the bot it is handed;
``stand_in`` answers python-telegram-bot's Bot API calls in-process; ``terminal``
shows Telegram HTML and keyboards as terminal text; ``samples`` seeds bundled
stories. The composition root builds the bot and hands it to :class:`Console`.
"""

from bot.shell.console import Console, ShellBot

__all__ = ["Console", "ShellBot"]
