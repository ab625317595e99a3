"""What the chat handlers and the jobs share, built once by ``bot.app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.feed_adder import FeedAdder
from bot.clock import Clock
from bot.digest.planner import DigestPlanner
from bot.settings import Settings
from bot.store import Store

SERVICES_KEY = "newsbot.services"


@dataclass(slots=True)
class Services:
    """Dependencies of the chat handlers, passed through ``application.bot_data``."""

    settings: Settings
    store: Store
    clock: Clock
    planner: DigestPlanner
    wake_sender: Callable[[], None]
    admin_cache_seconds: float = 60.0
    feed_adder: FeedAdder | None = None  # /add and /import (own feeds)
