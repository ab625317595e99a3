"""Which handler answers which update, and the command list Telegram shows in its menu."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.chat import texts
from bot.chat.access import Handler
from bot.chat.channels import CHANNEL_PREFIX, bot_membership_changed, choose_channel, list_channels
from bot.chat.error_reply import report_error
from bot.chat.group_upgrade import migrate_chat
from bot.chat.help import point_to_help, show_help
from bot.chat.keyboards import LANGUAGE_PREFIX, TOPIC_PREFIX
from bot.chat.keyword_filters import set_filter
from bot.chat.language_choice import press_language, set_language
from bot.chat.lifecycle import confirm_stop, pause, resume, stop
from bot.chat.more_stories import show_more
from bot.chat.news_now import search, send_digest_now
from bot.chat.operator import add_operator_handlers, publish_operator_commands
from bot.chat.opml_commands import export_feeds, import_feeds
from bot.chat.own_feeds import REMOVE_PREFIX, add_feed, list_feeds, press_remove, remove_feed
from bot.chat.schedule import set_quiet, set_schedule, set_timezone
from bot.chat.start import start
from bot.chat.subscriptions import my_topics, subscribe, unsubscribe
from bot.chat.topics import show_topics, toggle_topic
from bot.digest.expand import MORE_PREFIX
from bot.language import DEFAULT_LANGUAGE, LANGUAGES
from bot.store.state import StateRepository

COMMAND_HANDLERS: dict[str, Handler] = {
    "start": start,
    "help": show_help,
    "topics": show_topics,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "mytopics": my_topics,
    "digest": send_digest_now,
    "schedule": set_schedule,
    "quiet": set_quiet,
    "timezone": set_timezone,
    "language": set_language,
    "filter": set_filter,
    "search": search,
    "pause": pause,
    "resume": resume,
    "stop": stop,
    "add": add_feed,
    "feeds": list_feeds,
    "remove": remove_feed,
    "import": import_feeds,
    "export": export_feeds,
    "channels": list_channels,
}

# New messages only: an edited "/subscribe world" must not subscribe twice.
_NEW_MESSAGES = filters.UpdateType.MESSAGE
# A file captioned /import, or an .opml file sent in a private chat (/import's upload).
_OPML_UPLOADS = filters.Document.ALL & (
    filters.CaptionRegex(r"^/import(@\w+)?(\s|$)")
    | (filters.Document.FileExtension("opml") & filters.ChatType.PRIVATE)
)


def register_handlers(application: Application) -> None:
    """Add every chat handler and the error handler to the application."""
    missing = {name for name, _ in texts.COMMANDS} ^ COMMAND_HANDLERS.keys()
    assert not missing, f"/help and the handlers disagree about {sorted(missing)}"
    for name, handler in COMMAND_HANDLERS.items():
        application.add_handler(CommandHandler(name, handler, filters=_NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(toggle_topic, pattern=f"^{TOPIC_PREFIX}"))
    application.add_handler(CallbackQueryHandler(confirm_stop, pattern="^stop:"))
    application.add_handler(CallbackQueryHandler(press_language, pattern=f"^{LANGUAGE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(show_more, pattern=f"^{MORE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(press_remove, pattern=f"^{REMOVE_PREFIX}"))
    application.add_handler(MessageHandler(_OPML_UPLOADS & _NEW_MESSAGES, import_feeds))
    application.add_handler(CallbackQueryHandler(choose_channel, pattern=f"^{CHANNEL_PREFIX}"))
    application.add_handler(
        ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrate_chat))
    # Operators' commands (admin_ids): before the catch-all, which answers everyone else.
    add_operator_handlers(application)
    # Last in its group, so only commands no CommandHandler took get here.
    unknown = filters.COMMAND & filters.ChatType.PRIVATE & _NEW_MESSAGES
    application.add_handler(MessageHandler(unknown, point_to_help))
    application.add_error_handler(report_error)


async def set_bot_commands(
    bot: ExtBot, admin_ids: Sequence[int] = (), state: StateRepository | None = None
) -> None:
    """Publish the command menu (setMyCommands) from :data:`texts.COMMANDS`: English for
    everyone, and each other language for users whose Telegram speaks it; operators'
    chats get theirs with the operator commands added (see publish_operator_commands)."""
    for lang in LANGUAGES:
        menu = [BotCommand(name, about) for name, about in texts.command_menu(lang)]
        code = None if lang == DEFAULT_LANGUAGE else lang
        await bot.set_my_commands(menu, language_code=code)
    await publish_operator_commands(bot, admin_ids, state)
