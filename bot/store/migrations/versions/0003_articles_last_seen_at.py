"""articles.last_seen_at: when a poll last listed the item

Pruning keeps an undated article its feed still lists (else the next poll would
store it again as new). Which existing rows the feeds still list is not known:
every row counts as listed by its source's latest poll (its newest fetched_at),
so none is deleted before a poll has shown it gone.

SQLite adds a NOT NULL column only with a default, and changing it later means
rebuilding the table (which would cost the article_topics rows and the
AUTOINCREMENT counter): there the column keeps a constant default the store
never relies on (it always sets the value). PostgreSQL drops the default.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_EPOCH = sa.text("'1970-01-01 00:00:00.000000'")


def upgrade() -> None:
    op.add_column(
        "articles",
        sa.Column(
            "last_seen_at",
            bot.store.types.UTCDateTime(timezone=True),
            nullable=False,
            server_default=_EPOCH,
        ),
    )
    columns = ("source_id", "fetched_at", "last_seen_at")
    articles = sa.table("articles", *(sa.column(c) for c in columns))
    same_source = sa.table("articles", *(sa.column(c) for c in columns)).alias("same_source")
    latest_poll = (
        sa.select(sa.func.max(same_source.c.fetched_at))
        .where(same_source.c.source_id == articles.c.source_id)
        .scalar_subquery()
    )
    op.execute(articles.update().values(last_seen_at=latest_poll))
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("articles", "last_seen_at", server_default=None)
    op.create_index("ix_articles_source_seen", "articles", ["source_id", "last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_source_seen", table_name="articles")
    op.drop_column("articles", "last_seen_at")  # SQLite 3.35+ drops a column in place
