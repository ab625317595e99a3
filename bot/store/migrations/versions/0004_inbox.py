"""inbox: every Telegram update, stored before Telegram is told it was received

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", bot.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox")),
    )
    op.create_index(
        "ix_inbox_status_chat", "inbox", ["status", "chat_id", "update_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_status_chat", table_name="inbox")
    op.drop_table("inbox")
