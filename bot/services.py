"""What the chat handlers and the ticks share, built once by ``bot.app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.digest.planner import DigestPlanner

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


def services_of(application: Application) -> Services:  # type: ignore[type-arg]
    """The Services object stored on a PTB application."""
    return application.bot_data[SERVICES_KEY]
