"""Why the database could not be opened, in one line a person can act on.

The store wraps whatever its drivers raise while opening (SQLite, aiosqlite,
asyncpg, SQLAlchemy, the OS) into :class:`bot.errors.DatabaseError` here, once:
the database named (a URL's password masked, a SQLite path made absolute), what
went wrong, and the fix.
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.engine import URL

from bot.errors import DatabaseError, causes
from bot.store.database_url import database_label, parsed_url

# PostgreSQL's SQLSTATE codes (the driver's exceptions carry them as ``sqlstate``).
_NO_SUCH_DATABASE = "3D000"
_REFUSED_LOGIN = ("28P01", "28000")  # wrong password; a user the server does not know
_NOT_ALLOWED = "42501"
_SQLITE_FIX = "check that the folder exists and this user may write to it, or set database_url"


def database_error(err: BaseException, database_url: str) -> DatabaseError:
    """``err`` (raised while opening ``database_url``) as one actionable DatabaseError."""
    where = database_label(database_url)
    url = parsed_url(database_url)
    for cause in causes(err):
        found = _pg_problem(cause, url) if url.get_backend_name() != "sqlite" else None
        found = found or _os_problem(cause, url) or _sqlite_problem(cause)
        if found is not None:
            return DatabaseError(where, *found)
    return DatabaseError(where, _first_line(err), "check database_url and that the database runs")


def _pg_problem(err: BaseException, url: URL) -> tuple[str, str] | None:
    name, user = url.database or "", url.username or ""
    state = getattr(err, "sqlstate", None)
    if state == _NO_SUCH_DATABASE:
        host = f"-h {url.host or 'localhost'} -p {url.port or 5432}"
        return f"database {name!r} does not exist", f"create it: createdb {host} -U {user} {name}"
    if state in _REFUSED_LOGIN:
        return (
            f"the server refused user {user!r}: {_first_line(err)}",
            "check the user name and password in database_url",
        )
    if state == _NOT_ALLOWED:
        return _first_line(err), f"grant user {user!r} the rights on database {name!r}"
    return None


def _os_problem(err: BaseException, url: URL) -> tuple[str, str] | None:
    address = f"{url.host or 'localhost'}:{url.port or 5432}"
    if isinstance(err, socket.gaierror):
        return f"cannot resolve host {url.host!r}", "check the host name in database_url"
    if isinstance(err, ConnectionRefusedError):
        return (
            f"connection refused at {address}",
            "is PostgreSQL running and listening there? check host and port in database_url",
        )
    if isinstance(err, TimeoutError):
        return f"no answer from {address}", "check the server, the network and database_url"
    if isinstance(err, PermissionError | FileNotFoundError | FileExistsError | NotADirectoryError):
        return f"cannot create {err.filename}: {err.strerror}", _SQLITE_FIX
    if isinstance(err, OSError) and err.strerror:
        return err.strerror, "check database_url and that the database runs"
    return None


def _sqlite_problem(err: BaseException) -> tuple[str, str] | None:
    if not isinstance(err, sqlite3.Error):
        return None
    text = str(err)
    if "unable to open" in text:
        return "cannot open the file", _SQLITE_FIX
    if "readonly" in text or "read-only" in text:
        return "the file is read-only", _SQLITE_FIX
    if "not a database" in text:
        return "the file is not an SQLite database", "point database_url at newsbot's database"
    return text, "check database_url and the file"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
