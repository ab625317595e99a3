"""How ``newsbot shell`` shows what the bot sends: Telegram HTML and inline keyboards as text.

Bold and underline become ANSI styles when the output is a terminal and plain
text otherwise; links read "text <url>"; block quotes get a bar. Keyboard
buttons are numbered left to right, top to bottom, so the user can press one
by typing its number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any, TextIO

ANSI_RESET = "\033[0m"
_ANSI_START = {"b": "\033[1m", "i": "\033[3m", "u": "\033[4m", "s": "\033[9m"}
_TAG_STYLE = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
}
QUOTE_BAR = "│ "
BOT_PREFIX = "bot> "
CONTINUATION = "     "  # lines after the first line up under the text after the prefix

Button = Mapping[str, Any]


class _TerminalHtml(HTMLParser):
    """Collects the visible text of Telegram HTML, styling it as it goes."""

    def __init__(self, *, is_styled: bool) -> None:
        super().__init__(convert_charrefs=True)
        self._is_styled = is_styled
        self._out: list[str] = []
        self._styles: list[str] = []
        self._links: list[tuple[str | None, int]] = []  # href, where its text starts
        self._quotes: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _TAG_STYLE:
            self._push_style(_TAG_STYLE[tag])
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self._out)))
        elif tag == "blockquote":
            self._quotes.append(len(self._out))

    def handle_endtag(self, tag: str) -> None:
        if tag in _TAG_STYLE:
            self._pop_style(_TAG_STYLE[tag])
        elif tag == "a" and self._links:
            self._close_link(*self._links.pop())
        elif tag == "blockquote" and self._quotes:
            self._close_quote(self._quotes.pop())

    def handle_data(self, data: str) -> None:
        self._out.append(data)

    def text(self) -> str:
        """The rendered text so far, with any style still open reset."""
        self.close()
        tail = ANSI_RESET if self._is_styled and self._styles else ""
        return "".join(self._out) + tail

    def _push_style(self, style: str) -> None:
        self._styles.append(style)
        if self._is_styled:
            self._out.append(_ANSI_START[style])

    def _pop_style(self, style: str) -> None:
        if style in self._styles:
            del self._styles[len(self._styles) - 1 - self._styles[::-1].index(style)]
        if self._is_styled:
            # ANSI has no "end bold only": reset, then re-open the styles still in force.
            self._out.append(ANSI_RESET + "".join(_ANSI_START[s] for s in self._styles))

    def _close_link(self, href: str | None, start: int) -> None:
        shown = "".join(self._out[start:])
        if href and _plain(shown).strip() != href:
            self._out.append(f" <{href}>")

    def _close_quote(self, start: int) -> None:
        quoted = "".join(self._out[start:])
        self._out[start:] = [QUOTE_BAR + quoted.strip("\n").replace("\n", "\n" + QUOTE_BAR)]


def _plain(text: str) -> str:
    for code in (*_ANSI_START.values(), ANSI_RESET):
        text = text.replace(code, "")
    return text


def html_to_terminal(html_text: str, *, is_styled: bool) -> str:
    """Telegram HTML as terminal text: ANSI styles when ``is_styled``, links as "text <url>"."""
    parser = _TerminalHtml(is_styled=is_styled)
    parser.feed(html_text)
    return parser.text()


def keyboard_buttons(markup: Mapping[str, Any] | None) -> list[Button]:
    """The buttons of an inline keyboard in the order they are numbered (from 1)."""
    if not markup:
        return []
    rows: Sequence[Sequence[Button]] = markup.get("inline_keyboard") or []
    return [button for row in rows for button in row]


def keyboard_lines(markup: Mapping[str, Any] | None) -> list[str]:
    """One line per keyboard row: ``[1] ✅ World news  [2] India``."""
    if not markup:
        return []
    lines: list[str] = []
    number = 1
    for row in markup.get("inline_keyboard") or []:
        cells = []
        for button in row:
            cells.append(f"[{number}] {button.get('text', '')}")
            number += 1
        lines.append("  ".join(cells))
    return lines


class Terminal:
    """Writes the conversation to a text stream, one block per bot message."""

    def __init__(self, stream: TextIO, *, is_styled: bool) -> None:
        self._stream = stream
        self.is_styled = is_styled

    def bot_message(
        self, html_text: str, markup: Mapping[str, Any] | None, *, note: str = ""
    ) -> None:
        """Print a message of the bot (``note`` like "edited" goes before the text)."""
        body = html_to_terminal(html_text, is_styled=self.is_styled)
        if note:
            body = f"({note}) {body}"
        self.write_block(body, keyboard_lines(markup))

    def keyboard_changed(self, markup: Mapping[str, Any] | None) -> None:
        """Print a message's new buttons (or that they are gone)."""
        lines = keyboard_lines(markup)
        self.write_block("(buttons updated)" if lines else "(buttons removed)", lines)

    def toast(self, text: str, *, is_alert: bool) -> None:
        """Print the short notice Telegram shows after a button press."""
        self.write_block(f"({'alert' if is_alert else 'notice'}: {text})", [])

    def note(self, text: str) -> None:
        """Print a line from the shell itself (not the bot), e.g. a hint."""
        self._stream.write(f"  {text}".rstrip() + "\n")
        self._stream.flush()

    def prompt(self, text: str) -> None:
        """Print the input prompt without a newline."""
        self._stream.write(text)
        self._stream.flush()

    def write_block(self, body: str, keyboard: Sequence[str]) -> None:
        """Print ``body`` after the bot prefix, indented, then keyboard lines."""
        lines = body.split("\n") or [""]
        out = [BOT_PREFIX + lines[0], *(CONTINUATION + line for line in lines[1:])]
        out += [CONTINUATION + line for line in keyboard]
        self._stream.write("\n".join(out) + "\n\n")
        self._stream.flush()
