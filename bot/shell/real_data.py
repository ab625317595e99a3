"""The configured database's recent stories, copied into the shell's throwaway database.

``newsbot shell`` lets an operator preview their own sources' digests: when the
configured database holds articles, the recent ones (with their sources, topics
and story groups) are copied into the shell's own SQLite file. The configured
database is only read, never migrated or written: the shell's chat, digests and
deliveries must never reach the real bot's tables (its sender would try to
deliver them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.redact import redact
from bot.store import Store, open_store
from bot.store.articles import ArticleInput, StoredItem
from bot.store.records import Article

log = logging.getLogger(__name__)

# Stories this old or newer are copied; older ones would never show in a digest.
COPY_WINDOW = timedelta(days=7)
COPY_LIMIT = 2_000
REAL_SOURCE_KIND = "copied"


@dataclass(frozen=True, slots=True)
class CopyResult:
    """How many articles were copied, or why none could be read (``problem``)."""

    copied: int
    problem: str | None = None


async def copy_recent_articles(
    database_url: str, target: Store, topic_ids: Sequence[str], now: datetime
) -> CopyResult:
    """Copy the configured database's articles of ``topic_ids`` published since
    ``now - COPY_WINDOW`` (the newest :data:`COPY_LIMIT`) into ``target``.

    A database that does not exist yet, has no tables or cannot be reached copies
    nothing; ``problem`` then says why, in one line without secrets.
    """
    if not topic_ids:
        return CopyResult(0)
    if _is_missing_sqlite_file(database_url):
        return CopyResult(0)
    try:
        source = await open_store(database_url, migrate=False)
    except (SQLAlchemyError, OSError, ValueError) as err:
        return CopyResult(0, _problem(err))
    try:
        articles = await source.articles.recent(
            topic_ids, since=now - COPY_WINDOW, limit=COPY_LIMIT
        )
    except (SQLAlchemyError, OSError) as err:
        return CopyResult(0, _problem(err))
    finally:
        await source.close()
    return CopyResult(await _store_copies(target, articles, now))


def _is_missing_sqlite_file(database_url: str) -> bool:
    """True for a SQLite URL whose file does not exist (opening it would create it)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return False
    return not url.database or url.database == ":memory:" or not Path(url.database).exists()


def _problem(err: Exception) -> str:
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return redact(first_line)[:200]


async def _store_copies(target: Store, articles: Sequence[Article], now: datetime) -> int:
    """Store ``articles`` oldest first, one source per outlet; each keeps its story group."""
    ordered = sorted(articles, key=lambda a: a.id)
    names = list(dict.fromkeys(a.source_name for a in ordered))
    declared = [(name, _home(name, ordered), REAL_SOURCE_KIND) for name in names]
    source_ids = {s.name: s.id for s in await target.sources.sync(declared)}
    new_cluster: dict[int, int] = {}  # cluster id in the configured database -> here
    copied = 0
    for name in names:
        batch = [a for a in ordered if a.source_name == name]
        cluster_of_url = {a.url: a.cluster_id for a in batch}

        def group(
            items: Sequence[StoredItem], clusters: Mapping[str, int] = cluster_of_url
        ) -> dict[int, int]:
            joined: dict[int, int] = {}
            for item in items:
                original = clusters[item.input.url]
                if original in new_cluster:
                    joined[item.article_id] = new_cluster[original]
                else:
                    new_cluster[original] = item.article_id
            return joined

        inputs = [_as_input(a) for a in batch]
        copied += len(await target.articles.store(source_ids[name], inputs, now, group=group))
    return copied


def _as_input(article: Article) -> ArticleInput:
    return ArticleInput(
        url=article.url,
        headline=article.headline,
        summary=article.summary,
        published_at=article.published_at,
        topics=article.topics,
        guid=article.guid,
    )


def _home(name: str, articles: Sequence[Article]) -> str:
    """The outlet's site (scheme and host of its first story), as the source URL."""
    url = next(a.url for a in articles if a.source_name == name)
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/"
