"""chats: digest weekdays and quiet hours; deliveries: a message's inline buttons

``chats.digest_days`` holds the weekdays of scheduled digests as digits
(0 = Monday), "" for every day; ``quiet_start``/``quiet_end`` ("HH:MM", local)
hold an instant chat's quiet hours, NULL for none. ``deliveries.buttons`` is
the JSON inline keyboard sent with a message (a digest's "+K more"), NULL for
none. SQLite adds a NOT NULL column only with a default: ``digest_days`` keeps
"" as its default everywhere (it is the value of a new chat, too).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "chats", sa.Column("digest_days", sa.String(16), nullable=False, server_default="")
    )
    op.add_column("chats", sa.Column("quiet_start", sa.String(5), nullable=True))
    op.add_column("chats", sa.Column("quiet_end", sa.String(5), nullable=True))
    op.add_column("deliveries", sa.Column("buttons", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "buttons")  # SQLite 3.35+ drops a column in place
    op.drop_column("chats", "quiet_end")
    op.drop_column("chats", "quiet_start")
    op.drop_column("chats", "digest_days")
