"""One write transaction at a time per database, in this process.

SQLite has one writer: connections racing for it sleep in its busy handler
(1-100 ms steps), and a waiter can lose its turn again and again until its busy
timeout expires. Writers that queue on one asyncio lock first never race. On
PostgreSQL the article writes take turns anyway (the article write lock), and
waiting here rather than there keeps pooled connections free meanwhile.
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

_TURNS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


def write_turn(engine: AsyncEngine) -> asyncio.Lock:
    """The lock every write transaction on ``engine`` holds (the same for every caller)."""
    turn = _TURNS.get(engine.sync_engine)
    if turn is None:
        turn = _TURNS[engine.sync_engine] = asyncio.Lock()
    return turn
