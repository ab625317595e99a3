"""Files in the fake Bot API: documents users upload, and documents the bot sends.

- A user uploads with ``send_document(chat, user, file_name, data, caption=...)``
  (a message with a ``document``; a caption starting with "/" gets a
  ``bot_command`` caption entity, as Telegram does).
- ``getFile`` answers ``file_path`` for a known ``file_id`` (else 400 "invalid
  file_id"); ``GET /file/bot<token>/<file_path>`` serves its bytes (PTB's
  ``File.download_*``).
- ``sendDocument`` takes the multipart upload PTB sends, checks the chat, the
  flood limits and the caption (at most 1024 characters after entity parsing),
  and records a :class:`SentDocument` in ``state.documents``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .telegram_faults import bad_request
from .telegram_html import utf16_len
from .telegram_params import parse_text

if TYPE_CHECKING:
    from .telegram_methods import BotApiMethods, Handler

MAX_CAPTION_UTF16 = 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file a user uploaded."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    data: bytes

    @property
    def file_path(self) -> str:
        return f"documents/{self.file_id}"

    def as_document(self) -> dict[str, Any]:
        """The Document object of a message carrying this file."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
        }


@dataclass(frozen=True, slots=True)
class SentDocument:
    """One sendDocument the fake accepted."""

    chat_id: int
    message_id: int
    thread_id: int | None
    file_name: str
    data: bytes
    caption: str | None
    sent_at: float  # time.monotonic()


class FileMethods:
    """getFile and sendDocument, on the state and checks of :class:`BotApiMethods`."""

    def __init__(self, methods: BotApiMethods) -> None:
        self.methods = methods
        self.state = methods.state

    def table(self) -> dict[str, Handler]:
        return {"getfile": self.get_file, "senddocument": self.send_document}

    async def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.state.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.methods._writable_chat(params.get("chat_id"))
        self.methods.check_can_post(chat)
        upload = params.get("document")
        if not isinstance(upload, web.FileField):
            raise bad_request("there is no document in the request")
        caption = params.get("caption")
        if caption:
            parsed = parse_text(caption, params.get("parse_mode"))
            if utf16_len(parsed.text) > MAX_CAPTION_UTF16:
                raise bad_request("message caption is too long")
        self.methods._check_flood(chat)
        data = upload.file.read()
        message = {
            "message_id": chat.next_message_id(),
            "from": self.state.bot_user,
            "chat": chat.as_dict(),
            "date": int(time.time()),
            "document": {
                "file_id": f"bot-{chat.id}-{len(self.state.documents)}",
                "file_unique_id": f"ubot-{chat.id}-{len(self.state.documents)}",
                "file_name": upload.filename,
                "file_size": len(data),
            },
        }
        if caption:
            message["caption"] = caption
        self.state.messages[(chat.id, message["message_id"])] = message
        self.state.documents.append(
            SentDocument(
                chat_id=chat.id,
                message_id=message["message_id"],
                thread_id=params.get("message_thread_id"),
                file_name=upload.filename,
                data=data,
                caption=caption,
                sent_at=time.monotonic(),
            )
        )
        self.state.notify_activity()
        return message


def file_download_handler(state: Any) -> Any:
    """The aiohttp handler of ``GET /file/bot{token}/{path}`` over ``state.files``."""

    async def download(request: web.Request) -> web.Response:
        if request.match_info["token"] != state.token:
            return web.Response(status=401, text="Unauthorized")
        wanted = request.match_info["path"]
        stored = next((f for f in state.files.values() if f.file_path == wanted), None)
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, content_type="application/octet-stream")

    return download
