"""The ``newsbot`` command line: run, ingest, sources, migrate, stats, shell."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.catalogue_opml import add_opml_commands, run_opml_command
from bot.errors import ConfigError, NewsbotError
from bot.redact import install_redaction, redact
from bot.settings import Settings, load_settings

Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with --help on every command."""
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="A Telegram bot that turns news sources into topic digests.",
        epilog="Settings: config/newsbot.toml (or NEWSBOT_CONFIG), .env, NEWSBOT_* variables.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "run", help="run the bot: Telegram long polling, the poller and the digest sender"
    )
    ingest = commands.add_parser("ingest", help="poll the news sources once and show a table")
    ingest.add_argument("--source", metavar="NAME", help="poll only the source with this name")
    sources = commands.add_parser(
        "sources", help="show each source's health: last success, errors, next poll"
    )
    add_opml_commands(sources)
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("stats", help="show chats, articles and the delivery queue")
    commands.add_parser(
        "shell", help="try the bot offline: type as a user, see replies and digests"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        _quiet_noisy_loggers()
        install_redaction(*_secrets(settings))
        return asyncio.run(_COMMANDS[args.command](settings, args))
    except ConfigError as err:
        print(f"newsbot: {redact(str(err))}", file=sys.stderr)
        return 2
    except NewsbotError as err:
        print(f"newsbot: {redact(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Through logging, so the redacting filter sees the traceback: a third-party
        # error's text may hold the token (a URL ending in /bot<token>/...).
        logging.getLogger("bot").exception("newsbot %s failed", args.command)
        return 1


def _secrets(settings: Settings) -> list[str]:
    """Texts never to print: the bot token (URL passwords are found by their shape)."""
    token = settings.telegram_token
    return [token.get_secret_value()] if token is not None else []


def _quiet_noisy_loggers() -> None:
    # Every HTTP request at INFO would drown the bot's own log lines.
    for name in ("httpx", "httpcore", "alembic", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # A job run skipped because the previous one still runs is harmless by design
    # (APScheduler says so at WARNING).
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


async def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from telegram.error import InvalidToken

    from bot.app import run_until_stopped

    settings.require_token()
    try:
        await run_until_stopped(settings)
    except InvalidToken as err:  # its text quotes the token: never shown
        raise ConfigError(
            "telegram_token", "rejected by Telegram", "copy the token again from @BotFather"
        ) from err
    return 0


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.store import open_store
    from bot.store.migrate import current_revision

    store = await open_store(settings.database_url)
    try:
        print(f"database is at revision {await current_revision(store.engine)}")
    finally:
        await store.close()
    return 0


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import ingest_once

    return await ingest_once(settings, args.source)


async def _sources(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import show_sources

    if getattr(args, "sources_action", None):  # sources export | import (catalogue_opml.py)
        return await run_opml_command(settings, args)
    return await show_sources(settings)


async def _stats(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.ops import show_stats

    return await show_stats(settings)


async def _shell(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.app import run_shell

    return await run_shell(settings)


_COMMANDS: dict[str, Command] = {
    "run": _run,
    "ingest": _ingest,
    "sources": _sources,
    "migrate": _migrate,
    "stats": _stats,
    "shell": _shell,
}

if __name__ == "__main__":
    raise SystemExit(main())
