"""/schedule, /quiet and /timezone: when a chat's digests come, in its own time zone.

Every change recomputes ``next_digest_at`` from now, so the plan in the store
is always the chat's current wish.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat import texts
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_language,
    command_text,
    ensure_chat,
    local_time,
    next_slot,
    reply,
    services_from,
)
from bot.chat.parsing import ChatInputError
from bot.chat.schedule_parsing import ScheduleChoice, parse_quiet, parse_schedule
from bot.chat.timezones import parse_timezone
from bot.language import tr
from bot.services import Services
from bot.store.records import Chat


async def apply_schedule(services: Services, chat: Chat, choice: ScheduleChoice) -> Chat:
    """Store the new mode (and times and days, when scheduled) and the next slot.

    Days without times ("/schedule mon-fri") keep the chat's times.
    """
    scheduled = choice.mode == "scheduled"
    times = (choice.times or chat.digest_times) if scheduled else chat.digest_times
    days = choice.days if scheduled else chat.digest_days
    next_at = next_slot(choice.mode, times, chat.timezone, services.clock(), days)
    updated = await services.store.chats.update(
        chat.id,
        mode=choice.mode,
        digest_times=times,
        digest_days="".join(str(day) for day in days),
        next_digest_at=next_at,
    )
    # A poll that stored news just before this planned instant digests only for the
    # chats that were instant then: catch up, or the story waits for the next one.
    if choice.mode == "instant" and await services.planner.catch_up(chat.id):
        services.wake_sender()
    return updated or chat


async def apply_timezone(services: Services, chat: Chat, tz: str) -> Chat:
    """Store the new zone; the same local times now fall at other instants."""
    next_at = next_slot(chat.mode, chat.digest_times, tz, services.clock(), chat.digest_days)
    updated = await services.store.chats.update(chat.id, timezone=tz, next_digest_at=next_at)
    return updated or chat


async def apply_quiet(services: Services, chat: Chat, quiet: tuple[str, str] | None) -> Chat:
    """Store the quiet hours (None: none). An instant chat holding stories for quiet
    hours just turned off gets them at the planner's next tick."""
    fields: dict[str, object] = {
        "quiet_start": quiet[0] if quiet else None,
        "quiet_end": quiet[1] if quiet else None,
    }
    if chat.mode == "instant" and chat.next_digest_at is not None:
        fields["next_digest_at"] = services.clock()  # the planner re-checks the new hours
    updated = await services.store.chats.update(chat.id, **fields)
    return updated or chat


@admins_only
async def set_schedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/schedule HH:MM [HH:MM ...] | instant | off."""
    services = services_from(context)
    try:
        choice = parse_schedule(command_text(update).split())
    except ChatInputError as err:
        await reply(update, context, err.say(await chat_language(services, update)))
        return
    chat = await apply_schedule(services, await ensure_chat(services, update), choice)
    next_local = local_time(chat.next_digest_at, chat.timezone)
    answer = texts.schedule_set(
        chat.mode, chat.digest_times, chat.timezone, next_local, chat.digest_days, chat.language
    )
    await reply(update, context, answer)


@admins_only
async def set_quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quiet HH:MM-HH:MM | off: hours in which instant news waits."""
    services = services_from(context)
    arg = command_text(update)
    try:
        quiet = parse_quiet(arg)
    except ChatInputError as err:
        await reply(update, context, err.say(await chat_language(services, update)))
        return
    chat = await apply_quiet(services, await ensure_chat(services, update), quiet)
    if chat.quiet_hours is None:
        await reply(update, context, tr(chat.language, texts.QUIET_OFF))
        return
    answer = texts.quiet_set(chat.quiet_hours, chat.mode, chat.timezone, chat.language)
    await reply(update, context, answer)


@admins_only
async def set_timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone <IANA name | UTC offset | city>; without one, the current zone."""
    services = services_from(context)
    chat = await ensure_chat(services, update)
    arg = command_text(update)
    if not arg:
        await reply(update, context, texts.timezone_usage(chat.timezone, chat.language))
        return
    try:
        tz = parse_timezone(arg)
    except ChatInputError as err:
        await reply(update, context, err.say(chat.language))
        return
    chat = await apply_timezone(services, chat, tz)
    local_now = local_time(services.clock(), tz)
    assert local_now is not None
    await reply(update, context, texts.timezone_set(tz, local_now, chat.language))
