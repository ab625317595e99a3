"""chats: the language the bot speaks to the chat

``chats.language`` is a language code the bot has catalogues for ("en", "ru",
"es"); a new chat's comes from its first user's Telegram ``language_code`` or
the operator's ``default_language``. Existing chats keep English, the only
language they were ever spoken to in.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("chats", sa.Column("language", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    op.drop_column("chats", "language")  # SQLite 3.35+ drops a column in place
