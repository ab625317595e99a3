"""``newsbot shell``: try the bot offline, typing as a Telegram user in the terminal.

The real handlers run on a real python-telegram-bot Application; only the far
end is swapped: :class:`~bot.shell.stand_in.ShellRequest` answers the Bot API
in-process and prints what the bot sends (the idea of Hubot's shell adapter and
Errbot's text backend). Each line typed becomes an Update from a private chat;
a bare number presses that button of the last keyboard; ``/quit`` or end of
input leaves. After every input the planner and the sender run once, so digests
show up right away. The store is a fresh SQLite file in a temporary folder,
seeded with the configured database's recent stories when it holds any (read
only: see ``real_data``), else, or with ``--samples``, with the bundled sample
stories; the first lines say which. The shell never writes to the configured
database and needs no network and no token.

The composition root builds the bot (with :attr:`Console.request` as its Bot
API and :meth:`Console.offline` settings) and hands it over as a
:class:`ShellBot`; this package never builds one itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application

from bot.chat.routes import set_bot_commands
from bot.clock import Clock, utcnow
from bot.settings import Settings
from bot.shell.real_data import copy_recent_articles
from bot.shell.samples import load_sample_articles, seed_sample_articles
from bot.shell.stand_in import BotCall, ShellMessage, ShellRequest, private_chat
from bot.shell.terminal import Terminal, keyboard_buttons
from bot.store import Store
from bot.wording import counted

SHELL_TOKEN = "1000000:newsbot-shell"
SHELL_USER_ID = 1001
QUIT_COMMANDS = frozenset({"/quit", "/exit"})
PROMPT = "you> "
INTRO_SAMPLES = "newsbot shell: you are chatting with the bot offline, with {stories}."
INTRO_REAL = (
    "newsbot shell: you are chatting with the bot offline, with {stories} "
    "copied from the configured database (it is only read)."
)
EMPTY_DATABASE = "The configured database holds no recent stories, so these are samples."
UNREADABLE_DATABASE = "Could not read the configured database ({problem}), so these are samples."
NO_SAMPLE_TOPICS = (
    "None of your topics is a sample topic ({topics}): the samples show nowhere. "
    "Try newsbot shell with a database that holds your sources' stories (newsbot ingest)."
)
INTRO = (
    "Type commands as in Telegram (try /start, /help, /subscribe world news, /digest).",
    "Type a button's number to press it. /quit or Ctrl-D leaves.",
)
NO_REPLY_TEXT = "(no reply: the bot answers commands; /help lists them)"
NO_REPLY_COMMAND = "(no reply)"
USER: Mapping[str, Any] = {"id": SHELL_USER_ID, "is_bot": False, "first_name": "You"}


@dataclass(frozen=True, slots=True)
class ShellBot:
    """The parts of a built bot the console drives; nothing of it runs in the background."""

    application: Application
    store: Store
    topic_ids: Sequence[str]
    deliver: Callable[[], Awaitable[None]]  # plan due digests, then send what is queued
    # The configured database to copy stories from; None shows the samples (--samples).
    database_url: str | None = None


class Console:
    """The terminal end of the shell: the Bot API stand-in and the streams it talks through."""

    def __init__(
        self, stdin: TextIO | None = None, stdout: TextIO | None = None, clock: Clock = utcnow
    ) -> None:
        self._stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        self._terminal = Terminal(stdout, is_styled=stdout.isatty())
        self._clock = clock
        self.request = ShellRequest(self._terminal, clock=lambda: clock().timestamp())

    @contextlib.contextmanager
    def offline(self, settings: Settings) -> Iterator[Settings]:
        """Settings for the bot to build: ``settings`` on a throwaway database, while open."""
        # Migrating the throwaway database logs at INFO; that would interleave with the chat.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        with tempfile.TemporaryDirectory(prefix="newsbot-shell-") as folder:
            yield offline_settings(settings, Path(folder) / "shell.db")

    async def run(self, bot: ShellBot) -> int:
        """Seed, introduce, then chat until ``/quit`` or end of input; returns the exit code 0."""
        session = ShellSession(bot, self.request, self._terminal, self._clock)
        await session.start()
        await session.loop(self._stdin)
        return 0


def offline_settings(settings: Settings, database_path: Path) -> Settings:
    """A copy of ``settings`` for the shell: dummy token, throwaway SQLite file, no pacing."""
    delivery = settings.delivery.model_copy(update={"private_chat_interval_seconds": 0.0})
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(SHELL_TOKEN),
            "database_url": f"sqlite:///{database_path}",
            "delivery": delivery,
        }
    )


class ShellSession:
    """Turns typed lines into Updates and runs the digest steps after each one."""

    def __init__(
        self, bot: ShellBot, request: ShellRequest, terminal: Terminal, clock: Clock
    ) -> None:
        self._target = bot
        self._request = request
        self._terminal = terminal
        self._clock = clock
        self._update_id = 0
        self._message_id = 1_000_000  # the user's messages; the bot's count from 1

    async def start(self) -> None:
        """Seed the stories, register the commands and print the introduction."""
        for line in await self._seed():
            self._terminal.note(line)
        await set_bot_commands(self._target.application.bot)
        for line in INTRO:
            self._terminal.note(line)
        if not self._target.topic_ids:
            self._terminal.note("No topics are configured: see config/newsbot.toml.")
        self._terminal.note("")

    async def _seed(self) -> list[str]:
        """Copy the configured database's stories, else seed the samples; the lines to show."""
        topic_ids, now = self._target.topic_ids, self._clock()
        why_samples: list[str] = []
        if self._target.database_url is not None:
            copy = await copy_recent_articles(
                self._target.database_url, self._target.store, topic_ids, now
            )
            if copy.copied:
                stories = counted(copy.copied, "recent story", "recent stories")
                return [INTRO_REAL.format(stories=stories)]
            why_samples.append(
                UNREADABLE_DATABASE.format(problem=copy.problem) if copy.problem else EMPTY_DATABASE
            )
        samples = load_sample_articles()
        count = await seed_sample_articles(self._target.store, samples, topic_ids, now)
        stories = counted(count, "sample story", "sample stories")
        lines = [INTRO_SAMPLES.format(stories=stories), *why_samples]
        if topic_ids and not count:
            sample_topics = ", ".join(sorted({t for s in samples for t in s.topics}))
            lines.append(NO_SAMPLE_TOPICS.format(topics=sample_topics))
        return lines

    async def loop(self, stdin: TextIO) -> None:
        """Read lines until ``/quit`` or end of input, handling each one."""
        reader = LineReader(stdin)
        while True:
            self._terminal.prompt(PROMPT)
            line = await reader.readline()
            if not line:  # end of input
                self._terminal.prompt("\n")
                return
            if not stdin.isatty():  # piped input: echo it, so the transcript reads as a chat
                self._terminal.prompt(line if line.endswith("\n") else line + "\n")
            if line.strip().lower() in QUIT_COMMANDS:
                return
            await self.handle(line.strip())

    async def handle(self, line: str) -> None:
        """One input: a button number or a message; then deliver any digest it queued."""
        if not line:
            return
        calls_before = len(self._request.calls)
        update = self._button_update(int(line)) if line.isdigit() else self._message_update(line)
        if update is None:  # the shell itself explained why nothing was pressed
            return
        await self._process(update)
        await self._target.deliver()
        if not any(_is_visible(call) for call in self._request.calls[calls_before:]):
            self._terminal.note(NO_REPLY_COMMAND if line.startswith("/") else NO_REPLY_TEXT)

    def _button_update(self, number: int) -> dict[str, Any] | None:
        """The callback query of button ``number`` of the last keyboard, or None with a hint."""
        keyboard = self._request.last_keyboard
        buttons = keyboard_buttons(keyboard.reply_markup if keyboard else None)
        if keyboard is None or not buttons:
            self._terminal.note("There are no buttons to press. /topics shows some.")
            return None
        if not 1 <= number <= len(buttons):
            self._terminal.note(f"Pick a button from 1 to {len(buttons)}.")
            return None
        button = buttons[number - 1]
        if "callback_data" not in button:
            self._terminal.note(f"That button opens {button.get('url', 'something else')}.")
            return None
        return self._callback_update(keyboard, str(button["callback_data"]))

    async def _process(self, update: dict[str, Any]) -> None:
        application = self._target.application
        await application.process_update(Update.de_json(update, application.bot))

    def _message_update(self, text: str) -> dict[str, Any]:
        self._message_id += 1
        message: dict[str, Any] = {
            "message_id": self._message_id,
            "date": int(self._clock().timestamp()),
            "chat": private_chat(SHELL_USER_ID),
            "from": dict(USER),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._update(message=message)

    def _callback_update(self, keyboard: ShellMessage, data: str) -> dict[str, Any]:
        query = {
            "id": f"shell-{self._update_id + 1}",
            "from": dict(USER),
            "chat_instance": "newsbot-shell",
            "message": keyboard.to_api(),
            "data": data,
        }
        return self._update(callback_query=query)

    def _update(self, **content: Any) -> dict[str, Any]:
        self._update_id += 1
        return {"update_id": self._update_id, **content}


class LineReader:
    """Reads a stream on a daemon thread, so Ctrl-C never waits for a read blocked on a tty."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        threading.Thread(target=self._pump, name="newsbot-shell-input", daemon=True).start()

    async def readline(self) -> str:
        """The next line with its newline; "" at end of input."""
        return await self._lines.get()

    def _pump(self) -> None:
        while True:
            line = self._stream.readline()
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:  # the shell has ended and its loop is closed
                return
            if not line:
                return


_VISIBLE = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup", "deletemessage"})


def _is_visible(call: BotCall) -> bool:
    """Whether the user saw this call; without any, the input gets "(no reply)"."""
    method = call.method.lower()
    return method in _VISIBLE or (method == "answercallbackquery" and bool(call.params.get("text")))
