"""SQLite engine settings: transactions end when connections go back to the pool."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.engine import make_engine


async def test_a_returned_connection_holds_no_lock(tmp_path: Path) -> None:
    """Reads and failed writes release the write lock when their connection closes.

    The pool does not roll back on return (one thread hop less per transaction),
    so this relies on SQLAlchemy ending every transaction in Connection.close().
    """
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    first, second = make_engine(url), make_engine(url)
    try:
        async with first.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with first.connect() as conn:  # autobegin takes BEGIN IMMEDIATE
            await conn.execute(text("SELECT count(*) FROM t"))
        with pytest.raises(RuntimeError):
            async with first.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("fail mid-transaction")

        # Another engine (another connection) takes the write lock; a leaked lock
        # would make its BEGIN IMMEDIATE wait out the busy timeout and fail.
        async with second.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        async with first.connect() as conn:
            rows = (await conn.execute(text("SELECT x FROM t"))).scalars().all()
        assert rows == [2]  # the failed insert was rolled back
    finally:
        await first.dispose()
        await second.dispose()
