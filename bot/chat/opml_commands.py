"""/export and /import: a chat's own feeds as an OPML file, both ways.

/export sends the chat's feeds as a document (sendDocument), in the folders
they were imported from. /import reads an
OPML file the chat uploads: with "/import" as its caption, by replying
"/import" to it, or (in a private chat) any ``.opml`` file. The file is
untrusted: its declared and its real size are capped
(``own_feeds.import_max_bytes``), it is parsed by :func:`bot.sources.opml.parse_opml`
(no DOCTYPE, no entities, at most 10,000 outlines), and every feed URL in it
goes through the same rules and guarded fetch as /add (without looking for
feeds on pages: an OPML list names feeds). At most the chat's room under
``own_feeds.max_per_chat`` is tried; the answer lists what was added, what was
there already and what was refused, and why.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Document, InputFile, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chat import own_feed_texts as say
from bot.chat.access import admins_only
from bot.chat.context import (
    chat_key_of,
    chat_language,
    current_chat,
    ensure_chat,
    reply,
    services_from,
)
from bot.chat.feed_adder import AddResult
from bot.chat.own_feeds import adder_of, after_adding, may_add
from bot.language import tr
from bot.services import Services
from bot.sources.opml import OpmlError, OpmlFeed, parse_opml, render_opml
from bot.store.records import Chat

log = logging.getLogger(__name__)

EXPORT_FILE_NAME = "newsbot-feeds.opml"
IMPORT_CONCURRENCY = 4  # feeds of one import fetched at once


async def export_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: the chat's own feeds as an OPML document (anyone may ask)."""
    services = services_from(context)
    chat = await current_chat(services, update)
    key = chat_key_of(update)
    feeds = await services.store.chat_sources.feeds_of(chat.id) if chat else []
    lang = await chat_language(services, update)
    if not feeds or key is None:
        await reply(update, context, tr(lang, say.EXPORT_EMPTY))
        return
    data = render_opml(
        "newsbot: My feeds",
        [OpmlFeed(feed.url, feed.title, feed.category) for feed in feeds],
        created=services.clock(),
    )
    await context.bot.send_document(
        key.telegram_id,
        InputFile(data, filename=EXPORT_FILE_NAME),
        caption=tr(lang, say.EXPORT_CAPTION),
        message_thread_id=key.thread_id or None,
    )


@admins_only
async def import_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/import (caption of an OPML file, or a reply to one), or an .opml file sent privately."""
    services = services_from(context)
    document = uploaded_document(update.effective_message)
    chat = await ensure_chat(services, update)
    if document is None:
        await reply(update, context, tr(chat.language, say.IMPORT_USAGE))
        return
    if not await may_add(update, context, chat):
        return
    data = await _download(update, context, document, chat.language)
    if data is None:
        return
    try:
        feeds = parse_opml(data)
    except OpmlError as err:
        await reply(update, context, say.import_refused(str(err), chat.language))
        return
    results = await import_into(services, chat, feeds)
    await after_adding(services, results)
    await reply(update, context, say.import_report(results, chat.language))


def uploaded_document(message: Message | None) -> Document | None:
    """The document of the message, or of the message it replies to."""
    if message is None:
        return None
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def _download(
    update: Update, context: ContextTypes.DEFAULT_TYPE, document: Document, lang: str
) -> bytes | None:
    """The file's bytes, or None (after saying why) when it is too large or unreadable."""
    cap = adder_of(services_from(context)).rules.import_max_bytes
    if (document.file_size or 0) > cap:
        await reply(update, context, say.import_too_large(cap, lang))
        return None
    try:
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
    except TelegramError as err:
        log.warning("could not download an uploaded file: %s", err)
        await reply(update, context, say.import_refused(say.DOWNLOAD_FAILED, lang))
        return None
    if len(data) > cap:  # the declared size is the sender's word
        await reply(update, context, say.import_too_large(cap, lang))
        return None
    return data


async def import_into(services: Services, chat: Chat, feeds: list[OpmlFeed]) -> list[AddResult]:
    """Add the feeds of an OPML list to the chat, as far as its room allows."""
    adder = adder_of(services)
    room = max(adder.rules.max_per_chat - len(chat.own_feeds), 0)
    slots = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def add(feed: OpmlFeed) -> AddResult:
        async with slots:
            return await adder.add(chat, feed.url, look_on_pages=False, category=feed.category)

    tried = await asyncio.gather(*(add(feed) for feed in feeds[:room]))
    over = [AddResult("full", feed.url, feed.title) for feed in feeds[room:]]
    return [*tried, *over]
