"""Run the outbox Sender in its own process until SIGTERM (or SIGKILL), for crash tests.

    python -m tests.delivery.sender_proc --db URL --api URL [--lease-seconds 3] [--resend-unknown]

Prints "ready" once the bot is up. Stands in for ``newsbot run`` until the
composition root wires the Sender there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import telegram

from bot.clock import utcnow
from bot.delivery.limiter import SendLimiter
from bot.delivery.sender import Sender
from bot.settings import DeliverySettings
from bot.store import open_store


async def serve(args: argparse.Namespace) -> None:
    """Build store, bot, limiter and Sender; run until SIGTERM."""
    settings = DeliverySettings(
        lease_seconds=args.lease_seconds, resend_unknown=args.resend_unknown
    )
    store = await open_store(args.db, migrate=False)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with telegram.Bot(args.token, base_url=f"{args.api}/bot") as bot:
            limiter = SendLimiter.from_settings(settings)
            owner = f"proc-{os.getpid()}"
            sender = Sender(store, bot, limiter, settings, utcnow, owner)
            print("ready", flush=True)
            await sender.run(stop)
    finally:
        await store.close()


def main() -> None:
    """Entry point of ``python -m tests.delivery.sender_proc``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--api", required=True, help="fake Telegram base URL, without /bot")
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--lease-seconds", type=int, default=3)
    parser.add_argument("--resend-unknown", action="store_true")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
