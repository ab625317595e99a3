"""The ``newsbot`` command line: run, ingest, sources, migrate, stats, backup, shell.

Every failure a person can act on ends here as one line on stderr (what, where,
the fix) and a non-zero exit status; its traceback goes to the log at DEBUG.
:func:`_report` is the one place that prints them. Exit statuses: 0 done,
1 a failure (a service, a source, a bug), 2 a setting or the command line is
wrong, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

from bot import __version__
from bot.catalogue_opml import add_opml_commands, run_opml_command
from bot.errors import BotApiError, CommandError, ConfigError, NewsbotError, causes
from bot.logs import configure_logging
from bot.redact import redact
from bot.settings import Settings, load_settings

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
log = logging.getLogger("bot.cli")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line too (the usage is a --help away)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with a description and --help on every command."""
    parser = _Parser(
        prog="newsbot",
        description="A Telegram bot that turns news sources into topic digests.",
        epilog="Settings: config/newsbot.toml in the working directory (or the file "
        "NEWSBOT_CONFIG names), then .env and NEWSBOT_* variables, which win.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for name, summary, description in _DESCRIPTIONS:
        sub = commands.add_parser(name, help=summary, description=description)
        if name == "run":
            sub.add_argument(
                "--role",
                default="all",
                metavar="ROLES",
                help="run only these parts, comma-separated: receiver, poller, planner, "
                "sender (PostgreSQL only; default all)",
            )
        if name == "ingest":
            sub.add_argument("--source", metavar="NAME", help="poll only the source with this name")
        if name == "shell":
            sub.add_argument(
                "--samples",
                action="store_true",
                help="show the bundled sample stories even when the database holds articles",
            )
        if name == "sources":
            add_opml_commands(sub)
        if name == "backup":
            sub.add_argument("file", metavar="FILE", type=Path, help="the new backup file")
    return parser


_DESCRIPTIONS = [
    (
        "run",
        "run the bot: Telegram long polling, the poller and the digest sender",
        "Run the bot until Ctrl-C or SIGTERM: answer chats, poll the sources, send digests. "
        "The database is migrated first. At start-up an unreachable Bot API or database "
        "stops it with one line; once running it retries with backoff.",
    ),
    (
        "ingest",
        "poll the news sources once and show a table",
        "Poll every source (or one) now and show what each gave: new, updated, unchanged, "
        "failed with the reason. Exit status 1 if a source failed.",
    ),
    (
        "sources",
        "show each source's health: last success, errors, next poll",
        "Show each source's health as stored: last success, last error, errors in a row, "
        "next poll. Sources appear after the first `newsbot ingest` or `newsbot run`.",
    ),
    (
        "migrate",
        "create or upgrade the database schema",
        "Create the database schema or upgrade it to the newest revision, naming the "
        "database (password masked). `newsbot run` does the same at start.",
    ),
    (
        "stats",
        "show chats, articles and the delivery queue",
        "Show chats (active), subscriptions per topic, stored articles, the delivery queue "
        "by status and any Telegram flood wait.",
    ),
    (
        "backup",
        "copy the SQLite database to FILE, safely while the bot runs",
        "Copy the SQLite database to FILE (a new file) with SQLite's online backup: a "
        "consistent snapshot, safe while the bot runs. With PostgreSQL it prints the "
        "pg_dump command to run instead (password masked) and exits with status 2.",
    ),
    (
        "shell",
        "try the bot offline: type as a user, see replies and digests",
        "Chat with the bot in the terminal, offline, with bundled sample stories and a "
        "throwaway database: no token, no network.",
    ),
]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format, _secrets(settings))
        return asyncio.run(_COMMANDS[args.command](settings, args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as err:
        return _report(err, args.command)


def _report(err: Exception, command: str) -> int:
    """The one place a failed command is told: one line on stderr; the exit status."""
    log.debug("newsbot %s failed", command, exc_info=err)
    if isinstance(err, NewsbotError):
        text = str(err)
        status = EXIT_USAGE if isinstance(err, ConfigError | CommandError) else EXIT_FAILED
    else:
        text = (
            f"unexpected error in `newsbot {command}`: {type(err).__name__}: {err} "
            "(a bug: run again with NEWSBOT_LOG_LEVEL=DEBUG for the traceback, and report it)"
        )
        status = EXIT_FAILED
    print(f"newsbot: {' '.join(redact(text).split())}", file=sys.stderr)
    return status


def _secrets(settings: Settings) -> tuple[str, ...]:
    """Texts never to print: the bot token and the webhook secret (URL passwords are
    found by their shape)."""
    token = settings.telegram_token
    secrets = [token.get_secret_value()] if token is not None else []
    if settings.webhook is not None:
        secrets.append(settings.webhook.secret.get_secret_value())
    return tuple(secrets)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.app import run_until_stopped
    from bot.roles import parse_roles

    settings.require_token()
    settings.require_topics()
    roles = parse_roles(args.role, is_sqlite=settings.database_url.startswith("sqlite"))
    try:
        await run_until_stopped(settings, roles)
    except InvalidToken as err:  # its text quotes the token: never shown
        raise ConfigError(
            "telegram_token", "rejected by Telegram", "copy the token again from @BotFather"
        ) from err
    except NetworkError as err:  # only at start-up: once running, PTB and the sender retry
        raise bot_api_error(err, settings.telegram_api_url) from err
    return 0


def bot_api_error(err: BaseException, api_url: str) -> BotApiError:
    """A start-up failure to reach the Bot API (DNS, refused, timeout) as one clear line."""
    from telegram.error import TimedOut

    chain = list(causes(err))
    if any(isinstance(cause, socket.gaierror) for cause in chain):
        problem = "cannot resolve its host name (DNS)"
    elif any(isinstance(cause, ConnectionRefusedError) for cause in chain):
        problem = "connection refused"
    elif any(isinstance(cause, TimedOut | TimeoutError) for cause in chain):
        problem = "no answer in time"
    else:
        problem = f"no connection ({getattr(err, 'message', None) or err})"
    return BotApiError(
        api_url,
        f"{problem}; giving up at start-up",
        "check the internet connection, a proxy or firewall, and telegram_api_url; "
        "once running, newsbot keeps retrying by itself",
    )


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.store import open_store
    from bot.store.database_url import database_label
    from bot.store.migrate import current_revision

    print(f"database: {database_label(settings.database_url)}")
    store = await open_store(settings.database_url, migrate=False)
    try:
        before = await current_revision(store.engine)
    finally:
        await store.close()
    store = await open_store(settings.database_url)
    try:
        after = await current_revision(store.engine)
    finally:
        await store.close()
    change = "unchanged" if before == after else f"was {before or 'empty'}"
    print(f"database is at revision {after} ({change})")
    return 0


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store.backup import backup_sqlite, pg_dump_command
    from bot.store.database_url import sqlite_path

    target: Path = args.file.resolve()
    source = sqlite_path(settings.database_url)
    if source is None:
        print(pg_dump_command(settings.database_url, target))
        raise CommandError(
            "backup copies SQLite files only; for PostgreSQL run the pg_dump command above "
            "(fill in the password, or leave PGPASSWORD out and use ~/.pgpass)"
        )
    size = await asyncio.to_thread(backup_sqlite, source, target)
    print(f"backed up {source} to {target} ({_kib(size)})")
    return 0


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size >= 1024 else f"{size} bytes"


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import ingest_once

    settings.require_topics()
    return await ingest_once(settings, args.source)


async def _sources(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import show_sources

    if getattr(args, "sources_action", None):  # sources export | import (catalogue_opml.py)
        return await run_opml_command(settings, args)
    return await show_sources(settings)


async def _stats(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.ops import show_stats

    return await show_stats(settings)


async def _shell(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run_shell

    settings.require_topics()
    return await run_shell(settings, samples=args.samples)


_COMMANDS: dict[str, Command] = {
    "run": _run,
    "ingest": _ingest,
    "sources": _sources,
    "migrate": _migrate,
    "stats": _stats,
    "backup": _backup,
    "shell": _shell,
}

if __name__ == "__main__":
    raise SystemExit(main())
