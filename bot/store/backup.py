"""``newsbot backup FILE``: a consistent copy of the SQLite database, safe while the bot runs.

SQLite's online backup API copies the pages under one read transaction, so the
copy is a snapshot even while the bot writes (in WAL mode a reader blocks no
writer). It is written next to FILE first and renamed into place, so FILE is
either a whole backup or absent. PostgreSQL is backed up by its own tool:
:func:`pg_dump_command` says how, the password masked.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from bot.errors import CommandError, DatabaseError
from bot.redact import MASK
from bot.store.database_url import parsed_url


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the SQLite database ``source`` to ``target`` (which must not exist); its size."""
    if target.exists():
        raise CommandError(f"{target} exists; give a new file name (a backup is never overwritten)")
    if not target.parent.is_dir():
        raise CommandError(f"no folder {target.parent}; create it first")
    if not source.is_file():
        raise DatabaseError(
            f"SQLite file {source}",
            "no database there, nothing to back up",
            "check database_url, and the working directory the bot runs in",
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        # mode=rw: never create an empty database where the real one was expected.
        with (
            closing(sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)
            (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise DatabaseError(f"SQLite file {source}", f"the copy failed a check: {verdict}")
        os.replace(partial, target)
    except sqlite3.Error as err:
        raise DatabaseError(f"SQLite file {source}", f"backup failed: {err}") from err
    except OSError as err:
        raise CommandError(f"cannot write {target}: {err.strerror}") from err
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def pg_dump_command(database_url: str, target: Path) -> str:
    """The pg_dump command line that backs up this PostgreSQL database into ``target``.

    The password is never printed: it is shown as ``***`` in PGPASSWORD, for the
    operator to fill in (or leave out, with ~/.pgpass).
    """
    url = parsed_url(database_url)
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string()
    command = f"pg_dump --format=custom --file={shlex.quote(str(target))} {shlex.quote(plain)}"
    return f"PGPASSWORD='{MASK}' {command}" if url.password else command
