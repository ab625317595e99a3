"""Telegram's HTML parse mode, as the fake Bot API server checks it.

`parse_html` turns message HTML into the visible text and its entities, raising
`EntityParseError` where Telegram answers "Bad Request: can't parse entities: ...".
Offsets and lengths are UTF-16 code units, like the Bot API's.

One deliberate difference: Telegram keeps a bare `&` that starts no known entity
as a literal character; the fake rejects it, so the bot is made to escape every
`&` (its docs ask for that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

ENTITY_TYPE_BY_TAG: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|([a-zA-Z][a-zA-Z0-9]*));")
_END_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_TAG_NAME = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_ATTRS_END = re.compile(
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(error) is Telegram's reason."""


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Visible text of a message and its entities (Bot API MessageEntity dicts)."""

    text: str
    entities: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the visible text
    attrs: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (how Telegram counts message length)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> ParsedText:
    """Parse Telegram-flavoured HTML; raise EntityParseError like Telegram would."""
    return _HtmlParser(source).parse()


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


class _HtmlParser:
    """A single left-to-right pass over the source; tags kept on a stack."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces: list[str] = []
        self.offset = 0  # UTF-16 length of the visible text so far
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def parse(self) -> ParsedText:
        position = 0
        for match in _SPECIAL.finditer(self.source):
            index = match.start()
            if index < position:
                continue
            self._emit(self.source[position:index])
            position = self._entity(index) if match.group() == "&" else self._tag(index)
        self._emit(self.source[position:])
        if self.stack:
            name = self.stack[-1].name
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.pieces), tuple(self.entities))

    def _emit(self, text: str) -> None:
        if text:
            self.pieces.append(text)
            self.offset += utf16_len(text)

    def _error(self, reason: str, index: int) -> EntityParseError:
        return EntityParseError(f"{reason} at byte offset {_byte_offset(self.source, index)}")

    def _entity(self, index: int) -> int:
        match = _ENTITY.match(self.source, index)
        if match is None:
            raise self._error("Character '&' must be escaped as &amp;", index)
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            if name not in NAMED_ENTITIES:
                raise self._error(f'Unsupported HTML entity "&{name};"', index)
            self._emit(NAMED_ENTITIES[name])
            return match.end()
        code_point = int(decimal) if decimal is not None else int(hexadecimal, 16)
        if not 0 < code_point <= 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
            raise self._error("Invalid numeric HTML entity", index)
        self._emit(chr(code_point))
        return match.end()

    def _tag(self, index: int) -> int:
        if self.source.startswith("</", index):
            return self._end_tag(index)
        name_match = _TAG_NAME.match(self.source, index)
        if name_match is None:
            raise self._error("Character '<' must be escaped as &lt;", index)
        name = name_match.group(1).lower()
        if name not in ENTITY_TYPE_BY_TAG:
            raise self._error(f'Unsupported start tag "{name}"', index)
        attrs_match = _ATTRS_END.match(self.source, name_match.end())
        if attrs_match is None:
            raise self._error("Can't find end of the tag", index)
        attrs = _parse_attrs(attrs_match.group(1))
        self._check_attrs(name, attrs, index)
        self.stack.append(_OpenTag(name, self.offset, attrs))
        return attrs_match.end()

    def _check_attrs(self, name: str, attrs: dict[str, str], index: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', index)
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise self._error('Tag "tg-emoji" must have attribute "emoji-id"', index)

    def _end_tag(self, index: int) -> int:
        match = _END_TAG.match(self.source, index)
        if match is None:
            raise self._error("Can't find end of the tag", index)
        name = match.group(1).lower()
        if not self.stack:
            raise self._error("Unexpected end tag", index)
        opened = self.stack[-1]
        if opened.name != name:
            raise self._error(
                f'Unmatched end tag, expected "</{opened.name}>", found "</{name}>"', index
            )
        self.stack.pop()
        self._close(opened)
        return match.end()

    def _close(self, tag: _OpenTag) -> None:
        language = tag.attrs.get("class", "")
        parent = self.stack[-1] if self.stack else None
        if (
            tag.name == "code"
            and parent is not None
            and parent.name == "pre"
            and language.startswith("language-")
        ):
            # Telegram folds <pre><code class="language-x"> into one pre entity.
            parent.extra["language"] = language.removeprefix("language-")
            return
        if tag.name == "a" and not tag.attrs.get("href"):
            return  # Telegram makes no text_link without a URL
        length = self.offset - tag.start
        if length > 0:
            self.entities.append(_entity_dict(tag, length))


def _parse_attrs(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        name, double, single, bare = match.groups()
        value = next((v for v in (double, single, bare) if v is not None), "")
        attrs[name.lower()] = unescape(value)
    return attrs


def _entity_dict(tag: _OpenTag, length: int) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "type": ENTITY_TYPE_BY_TAG[tag.name],
        "offset": tag.start,
        "length": length,
    }
    if tag.name == "a":
        entity["url"] = tag.attrs.get("href", "")
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "pre" and "language" in tag.extra:
        entity["language"] = tag.extra["language"]
    return entity
