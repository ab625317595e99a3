"""What the fake Telegram knows: chats, users, and records of what the bot did."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = 7000000001
BOT_USERNAME = "newsbot_test_bot"


def make_bot_user() -> dict[str, Any]:
    """The bot's own User object, as getMe returns it."""
    return {
        "id": BOT_USER_ID,
        "is_bot": True,
        "first_name": "NewsBot",
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def make_user(user_id: int, first_name: str, username: str | None = None) -> dict[str, Any]:
    """A human User object."""
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": "en",
    }
    if username:
        user["username"] = username
    return user


@dataclass(slots=True)
class FakeChat:
    """A chat the fake knows (mutable: migration and message counters change it)."""

    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    creator: int | None = None
    migrated_to: int | None = None
    # Channels: the bot's own membership ("left" until added) and its right to post.
    bot_status: str = "left"
    bot_can_post: bool = False
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def is_group(self) -> bool:
        """True for groups and supergroups (the 20 messages/minute limit applies)."""
        return self.type != "private"

    def next_message_id(self) -> int:
        """Message ids increase per chat, shared by the bot's and the users' messages."""
        return next(self._message_ids)

    def as_dict(self) -> dict[str, Any]:
        """The Chat object embedded in messages."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name
        else:
            chat["title"] = self.title
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def member_status(self, user_id: int) -> str:
        """creator / administrator / member / left, from the chat's admins and members."""
        if self.type == "private":
            return "member" if user_id in (self.id, BOT_USER_ID) else "left"
        if self.type == "channel" and user_id == BOT_USER_ID:
            return self.bot_status
        if user_id == self.creator:
            return "creator"
        if user_id in self.admins:
            return "administrator"
        return "member" if user_id in self.members else "left"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One sendMessage the fake accepted."""

    chat_id: int
    message_id: int
    thread_id: int | None
    text: str  # raw, as the bot sent it (HTML and all)
    plain_text: str  # visible text after entity parsing
    entities: tuple[dict[str, Any], ...]
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_options: dict[str, Any] | None
    disable_web_page_preview: bool | None
    disable_notification: bool | None
    sent_at: float  # time.monotonic()
    date: int  # unix seconds, as in the returned Message


@dataclass(frozen=True, slots=True)
class EditedMessage:
    """One accepted editMessageText / editMessageReplyMarkup."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # raw new text; None for a markup-only edit
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    edited_at: float  # time.monotonic()


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """One answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True, slots=True)
class DeletedMessage:
    """One accepted deleteMessage."""

    chat_id: int
    message_id: int


def chat_member(chat: FakeChat, user: dict[str, Any]) -> dict[str, Any]:
    """The ChatMember object getChatMember returns (all fields PTB 22 requires)."""
    status = chat.member_status(user["id"])
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
        member["can_be_edited"] = False
        member["is_anonymous"] = False
        if chat.type == "channel":
            can_post = chat.bot_can_post if user["id"] == BOT_USER_ID else True
            member["can_post_messages"] = can_post
            member["can_edit_messages"] = can_post
    return member


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
)


def chat_full_info(chat: FakeChat) -> dict[str, Any]:
    """The ChatFullInfo object getChat returns."""
    info = chat.as_dict()
    info["accent_color_id"] = 0
    info["max_reaction_count"] = 11
    info["accepted_gift_types"] = {
        "unlimited_gifts": False,
        "limited_gifts": False,
        "unique_gifts": False,
        "premium_subscription": False,
        "gifts_from_channels": False,
    }
    return info
