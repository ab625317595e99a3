"""/subscribe, /unsubscribe and /mytopics, and following topics in general.

A new subscription gets a welcome digest of the topic's recent stories right
away (``planner.welcome``), so nobody waits until the next slot to see what
they signed up for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_language,
    command_text,
    current_chat,
    ensure_chat,
    local_time,
    reply,
    services_from,
)
from bot.chat.keyboards import topics_keyboard
from bot.chat.parsing import TopicMatch, match_topic, match_topics, suggest_topics, wants_all
from bot.language import tr
from bot.services import Services
from bot.settings import Settings
from bot.store.records import Chat

MAX_UNKNOWN_SHOWN = 3


def topic_names(settings: Settings, topic_ids: Iterable[str]) -> list[str]:
    """Display names of topics (an id no longer in the catalogue shows as itself)."""
    names = []
    for topic_id in topic_ids:
        topic = settings.topic(topic_id)
        names.append(topic.name if topic is not None else topic_id)
    return names


def in_catalogue_order(settings: Settings, topic_ids: Iterable[str]) -> list[str]:
    """Topic ids sorted as the catalogue lists them (ids no longer configured last)."""
    position = {topic.id: index for index, topic in enumerate(settings.topics)}
    return sorted(topic_ids, key=lambda topic_id: position.get(topic_id, len(position)))


async def follow(services: Services, chat: Chat, topic_ids: Sequence[str]) -> tuple[str, ...]:
    """Subscribe the chat and queue recent stories of the topics it did not follow.

    Returns the topics that were not followed before.
    """
    new = await follow_quietly(services, chat, topic_ids)
    if new:
        await welcome(services, chat.id, new)
    return new


async def follow_quietly(
    services: Services, chat: Chat, topic_ids: Sequence[str]
) -> tuple[str, ...]:
    """Subscribe the chat, no welcome yet: a command answers first, then welcomes
    (the confirmation must not arrive after the digest it announces)."""
    return await services.store.chats.add_topics(chat.id, topic_ids)


@dataclass(frozen=True, slots=True)
class Followed:
    """A command's answer, and the topics it newly followed (to welcome after it)."""

    text: str
    new: tuple[str, ...] = ()


async def welcome(services: Services, chat_id: int, topic_ids: Sequence[str]) -> None:
    """Queue recent stories of ``topic_ids`` for a new subscriber and wake the sender."""
    chat = await services.store.chats.get_by_id(chat_id)
    if chat is None or chat.is_paused:
        return
    if await services.planner.welcome(chat, tuple(topic_ids)):
        services.wake_sender()


def unknown_lines(settings: Settings, unknown: Sequence[str], lang: str) -> list[str]:
    """ "No topic 'x'. Did you mean ...?" for the first few unknown parts."""
    lines = []
    for part in unknown[:MAX_UNKNOWN_SHOWN]:
        guesses = [t.name for t in suggest_topics(part, settings.topics)]
        lines.append(texts.unknown_topic(part, guesses, lang))
    return lines


async def subscribe_text(services: Services, chat: Chat, arg: str) -> Followed:
    """Follow the topics named in ``arg`` (or all); the reply says what happened."""
    settings = services.settings
    if wants_all(arg) and match_topic(arg, settings.topics) is None:
        new = await follow_quietly(services, chat, [topic.id for topic in settings.topics])
        return Followed(texts.subscribed_all(len(settings.topics), chat.language), new)
    match = match_topics(arg, settings.topics)
    lines = unknown_lines(settings, match.unknown, chat.language)
    wanted = [t.id for t in match.found]
    new = await follow_quietly(services, chat, wanted) if wanted else ()
    old = [t for t in wanted if t not in new]
    if new:
        lines.append(texts.subscribed(topic_names(settings, new), chat.language))
    if old:
        lines.append(texts.already_subscribed(topic_names(settings, old), chat.language))
    return Followed("\n".join(lines) or texts.unknown_topic(arg, lang=chat.language), new)


async def unsubscribe_text(services: Services, chat: Chat, arg: str) -> str:
    """Drop the topics named in ``arg`` (or all); the reply says what happened."""
    chats = services.store.chats
    if wants_all(arg):
        await chats.remove_topics(chat.id, None)
        return tr(chat.language, texts.UNSUBSCRIBED_ALL)
    settings = services.settings
    match: TopicMatch = match_topics(arg, settings.topics)
    lines = unknown_lines(settings, match.unknown, chat.language)
    wanted = [t.id for t in match.found]
    gone = await chats.remove_topics(chat.id, wanted) if wanted else ()
    kept = [t for t in wanted if t not in gone]
    if gone:
        lines.append(texts.unsubscribed(topic_names(settings, gone), chat.language))
    if kept:
        lines.append(texts.not_subscribed(topic_names(settings, kept), chat.language))
    return "\n".join(lines) or texts.unknown_topic(arg, lang=chat.language)


def describe_chat(settings: Settings, chat: Chat) -> str:
    """The /mytopics summary, times in the chat's zone (and how many own feeds)."""
    summary = texts.my_topics(
        topic_names(settings, in_catalogue_order(settings, chat.topics)),
        chat.mode,
        chat.digest_times,
        chat.timezone,
        chat.include_words,
        chat.exclude_words,
        local_time(chat.next_digest_at, chat.timezone),
        is_paused=chat.is_paused,
        days=chat.digest_days,
        quiet=chat.quiet_hours,
        lang=chat.language,
    )
    if not chat.own_feeds:
        return summary
    return f"{summary}\n{texts.own_feeds_count(len(chat.own_feeds), chat.language)}"


@admins_only
async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe <topic>[, <topic>...]; without a topic, the keyboard."""
    services = services_from(context)
    if not services.settings.topics:
        lang = await chat_language(services, update)
        await reply(update, context, tr(lang, texts.NO_TOPICS_CONFIGURED))
        return
    chat = await ensure_chat(services, update)
    arg = command_text(update)
    if not arg:
        keyboard = topics_keyboard(services.settings.topics, chat.topics, chat.language)
        await reply(update, context, tr(chat.language, texts.CHOOSE_TOPICS), keyboard)
        return
    followed = await subscribe_text(services, chat, arg)
    await reply(update, context, followed.text)
    if followed.new:
        await welcome(services, chat.id, followed.new)


@admins_only
async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe <topic>[, ...] | all."""
    services = services_from(context)
    arg = command_text(update)
    lang = await chat_language(services, update)
    if not arg:
        await reply(update, context, tr(lang, texts.UNSUBSCRIBE_USAGE))
        return
    chat = await current_chat(services, update)
    if chat is None or not chat.topics:
        await reply(update, context, tr(lang, texts.NO_TOPICS_YET))
        return
    await reply(update, context, await unsubscribe_text(services, chat, arg))


async def my_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mytopics: topics, schedule, zone, filters and the next digest (anyone may ask)."""
    services = services_from(context)
    chat = await current_chat(services, update)
    if chat is None:
        lang = await chat_language(services, update)
        await reply(update, context, tr(lang, texts.NO_TOPICS_YET))
        return
    await reply(update, context, describe_chat(services.settings, chat))
