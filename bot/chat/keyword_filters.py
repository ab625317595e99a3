"""/filter: only stories with some words, or never stories with others.

Words are plain text, never patterns (no regex a user could make slow). A word
moved from one list to the other leaves the first; lists grow by each command
up to ``MAX_FILTER_WORDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import command_text, ensure_chat, reply, services_from
from bot.chat.parsing import MAX_FILTER_WORDS, ChatInputError, FilterChoice, parse_filter
from bot.services import Services
from bot.store.records import Chat


def merged_filters(chat: Chat, choice: FilterChoice) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (include, exclude) lists after ``choice``; ChatInputError when too many words."""
    if choice.action == "clear":
        return (), ()
    if choice.action == "include":
        include = _added(chat.include_words, choice.words)
        return include, _without(chat.exclude_words, choice.words)
    exclude = _added(chat.exclude_words, choice.words)
    return _without(chat.include_words, choice.words), exclude


async def apply_filter(services: Services, chat: Chat, choice: FilterChoice) -> Chat:
    """Store the chat's filter lists after ``choice``."""
    include, exclude = merged_filters(chat, choice)
    updated = await services.store.chats.update(
        chat.id, include_words=include, exclude_words=exclude
    )
    return updated or chat


@admins_only
async def set_filter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/filter include <words> | exclude <words> | clear; without arguments, the filters now."""
    services = services_from(context)
    chat = await ensure_chat(services, update)
    arg = command_text(update)
    if not arg:
        current = texts.filters_text(chat.include_words, chat.exclude_words, chat.language)
        await reply(update, context, f"{current}\n{texts.filter_usage(chat.language)}")
        return
    try:
        chat = await apply_filter(services, chat, parse_filter(arg))
    except ChatInputError as err:
        await reply(update, context, err.say(chat.language))
        return
    words = texts.filters_text(chat.include_words, chat.exclude_words, chat.language)
    await reply(update, context, words)


def _added(current: Sequence[str], words: Sequence[str]) -> tuple[str, ...]:
    merged = tuple(dict.fromkeys([*current, *words]))
    if len(merged) > MAX_FILTER_WORDS:
        raise ChatInputError(partial(texts.too_many_words, MAX_FILTER_WORDS))
    return merged


def _without(current: Sequence[str], words: Sequence[str]) -> tuple[str, ...]:
    return tuple(w for w in current if w not in set(words))
