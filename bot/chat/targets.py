"""Which chat a command applies to: the chat it was written in, or the channel that
private chat manages for now (chosen with /channels, stored in ``chats.target_chat_id``).

A target that is gone, inactive (the bot was removed or lost its right to
post) or not a channel is dropped here: the chat's own row applies again.
"""

from __future__ import annotations

from bot.services import Services
from bot.store.records import Chat


async def managed_channel(services: Services, own: Chat) -> Chat | None:
    """The channel ``own`` (a private chat) manages now, or None."""
    if own.target_chat_id is None:
        return None
    target = await services.store.chats.get_by_id(own.target_chat_id)
    if target is None or target.kind != "channel" or not target.is_active:
        await services.store.chats.update(own.id, target_chat_id=None)
        return None
    return target


async def applies_to(services: Services, own: Chat) -> Chat:
    """The chat commands written in ``own`` apply to."""
    return await managed_channel(services, own) or own
