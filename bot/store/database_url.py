"""The database URL read once for people: which file or server it names, password masked."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url


def parsed_url(database_url: str) -> URL:
    """The database URL parsed (``postgres://`` read as ``postgresql://``)."""
    return make_url(database_url.replace("postgres://", "postgresql://", 1))


def sqlite_path(database_url: str) -> Path | None:
    """The SQLite file's absolute path, or None for PostgreSQL and in-memory SQLite."""
    url = parsed_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def database_label(database_url: str) -> str:
    """The database as people should see it: an SQLite file's absolute path, or the URL
    with its password masked."""
    path = sqlite_path(database_url)
    if path is not None:
        return f"SQLite file {path}"
    return parsed_url(database_url).render_as_string(hide_password=True)
