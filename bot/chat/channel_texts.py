"""The replies about channels (/channels, managing a channel from a private chat), in
the private chat's language ``lang`` (constants are msgids: ``tr(lang, CONSTANT)``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.chat.texts import user_text
from bot.language import DEFAULT_LANGUAGE, N_, tr

PRIVATE_ONLY = N_("Manage channels from your private chat with me: send /channels there.")
NO_CHANNELS = N_(
    "No channels yet. Add me to your channel as an admin who may post messages, "
    "then send /channels again."
)
HERE_BUTTON = N_("💬 This chat")
BACK_HERE = N_("Back to this chat: commands apply to it again.")
NOT_CHANNEL_ADMIN = N_(
    "You are not an admin of that channel (or I may no longer post there). "
    "Commands apply to this chat again; /channels lists your channels."
)


def channel_button(title: str) -> str:
    """The label of a channel's button."""
    return f"📢 {title}"[:64]


def channels_list(titles: Sequence[str], current: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """/channels: the channels the user manages, and which one commands apply to now."""
    where = f"📢 <b>{user_text(current)}</b>" if current else tr(lang, "this chat")
    lines = [
        tr(lang, "Commands apply to {where}.").format(where=where),
        tr(lang, "Choose where the next commands apply:"),
    ]
    lines += [f"• {user_text(title)}" for title in titles]
    return "\n".join(lines)


def managing(title: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A channel was chosen."""
    words = tr(
        lang,
        "Now managing 📢 <b>{title}</b>: /topics, /add, /schedule, /timezone, "
        "/filter and the rest apply to it. /channels switches back.",
    )
    return words.format(title=user_text(title))


def target_prefix(title: str) -> str:
    """The first line of every reply while a private chat manages a channel."""
    return f"📢 <b>{user_text(title)}</b>\n"
