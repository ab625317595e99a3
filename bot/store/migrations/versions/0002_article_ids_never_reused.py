"""article ids never reused: AUTOINCREMENT on SQLite

Without AUTOINCREMENT, SQLite gives a new row max(rowid)+1, so when the newest
article is pruned its id is handed out again, below a chat cursor that already
reached it. PostgreSQL's sequence never goes back: nothing to do there.

SQLite cannot change a table's key in place: the table is rebuilt (Alembic's
batch copy keeps the rows, indexes and foreign keys). Dropping the old table
cascades to article_topics, so those rows are kept aside and put back.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEPT_TOPICS = "_article_topics_kept"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_articles(autoincrement=True)
        _raise_sequence_above_every_cursor()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_articles(autoincrement=False)


def _rebuild_articles(*, autoincrement: bool) -> None:
    topics = sa.table("article_topics", sa.column("article_id"), sa.column("topic_id"))
    kept = op.create_table(
        _KEPT_TOPICS,
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
    )
    op.execute(kept.insert().from_select(["article_id", "topic_id"], sa.select(topics)))
    with op.batch_alter_table(
        "articles", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
    op.execute(topics.insert().from_select(["article_id", "topic_id"], sa.select(kept)))
    op.drop_table(_KEPT_TOPICS)


def _raise_sequence_above_every_cursor() -> None:
    """The next id goes above every id a chat or digest has seen, pruned or not."""
    articles = sa.table("articles", sa.column("id"))
    chats = sa.table("chats", sa.column("cursor_article_id"))
    digests = sa.table("digests", sa.column("max_article_id"))
    sequence = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    highest = sa.func.max(
        sa.select(sa.func.coalesce(sa.func.max(articles.c.id), 0)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.max(chats.c.cursor_article_id), 0)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.max(digests.c.max_article_id), 0)).scalar_subquery(),
    )
    op.execute(sequence.delete().where(sequence.c.name == "articles"))
    op.execute(sequence.insert().values(name="articles", seq=highest))
