"""Own feeds: sources a chat added by URL, and which chats follow them

``sources.origin`` tells the operator's catalogue ("catalogue", synced from the
settings) from feeds chats added ("chat"), which the catalogue sync leaves
alone. ``sources.url_key`` (a hash of the feed URL, set for chat sources only;
NULLs never clash) makes a URL added by many chats one source. ``chat_sources``
says which chat follows which of them (and in which of its OPML folders,
``category``); a chat source nobody follows is not polled.

Channels: ``chats.added_by`` is the user who made the bot a channel's admin
(who /channels offers it to), ``chats.target_chat_id`` the chat (a channel) a
private chat's commands apply to for now. Plain columns: SQLite adds a column
with a foreign key only by rebuilding the table; a target that is gone is
treated as none.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and a unique index: on SQLite a batch rebuild of ``sources``
    # would drop the old table, and with foreign keys on that deletes every article.
    op.add_column(
        "sources", sa.Column("origin", sa.String(16), nullable=False, server_default="catalogue")
    )
    op.add_column("sources", sa.Column("url_key", sa.String(64), nullable=True))
    op.create_index("uq_sources_url_key", "sources", ["url_key"], unique=True)
    op.add_column("chats", sa.Column("added_by", sa.BigInteger(), nullable=True))
    op.add_column("chats", sa.Column("target_chat_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "chat_sources",
        sa.Column(
            "chat_id",
            sa.BigInteger(),
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_chat_sources_chat_id_chats"),
            primary_key=True,
        ),
        sa.Column(
            "source_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "sources.id", ondelete="CASCADE", name="fk_chat_sources_source_id_sources"
            ),
            primary_key=True,
        ),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(255), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("chat_id", "source_id", name="pk_chat_sources"),
    )
    op.create_index("ix_chat_sources_source_id", "chat_sources", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_sources_source_id", table_name="chat_sources")
    op.drop_table("chat_sources")
    op.drop_column("chats", "target_chat_id")
    op.drop_column("chats", "added_by")
    op.drop_index("uq_sources_url_key", table_name="sources")
    op.drop_column("sources", "url_key")  # SQLite 3.35+ drops a column in place
    op.drop_column("sources", "origin")
