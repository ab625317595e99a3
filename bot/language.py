"""The languages the bot speaks and the one way to translate a text into them.

Every user-facing text is written in English in the code (the gettext msgid)
and translated here from the catalogues ``bot/locale/<lang>/LC_MESSAGES/newsbot.po``.
The ``.po`` files are the only form kept in the repository (no generated files
to drift from them): each is compiled in memory with Babel the first time its
language is asked for. English needs no catalogue: the msgids are English.

Texts are marked for Babel's extractor (``tests/test_language.py`` checks every
marked text has a translation in every catalogue) with:

- ``tr(lang, "text")``: a text in ``lang``;
- ``ntr(lang, "{n} topic", "{n} topics", n)``: the plural form for ``n``
  (Russian has three);
- ``N_("text")``: a constant translated later with ``tr(lang, CONSTANT)``.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache, partial
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES: tuple[str, ...] = ("en", "ru", "es")
DEFAULT_LANGUAGE = "en"
# The name of each language in itself, for the /language buttons.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ru": "Русский", "es": "Español"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "newsbot"
# Babel's extractor keywords for the markers above: the argument positions of msgids.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {"tr": (2,), "ntr": (2, 3), "N_": None}


def N_(text: str) -> str:
    """Mark ``text`` for the catalogue without translating it (translate with :func:`tr`)."""
    return text


def tr(lang: str, text: str) -> str:
    """``text`` (an English msgid) in ``lang``; English (or an unknown language) as is."""
    return translation(lang).gettext(text)


def ntr(lang: str, singular: str, plural: str, count: int) -> str:
    """The form of ``singular``/``plural`` for ``count`` in ``lang`` (not yet formatted)."""
    return translation(lang).ngettext(singular, plural, count)


def language_of(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The bot's language for a Telegram ``language_code`` ("ru", "es-419", "pt-br"):
    its own when the bot speaks it, else ``default``."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else default


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (read once per process)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def in_language(text: str) -> Callable[[str], str]:
    """``text`` (a msgid) as a function of the language, for a reply written before the
    chat's language is known (e.g. :class:`bot.chat.parsing.ChatInputError`)."""
    return partial(tr, text=text)


class Phrase(str):
    """A text with values in it, written in English (it *is* that string: logs and
    comparisons see English) that still knows its msgid and values, so it can be said
    in another language later: ``Phrase(N_("the site answered with HTTP {status}"),
    status=404).said_in("ru")``. For texts made before the chat's language is known
    (a reason stored in a result, for one)."""

    msgid: str
    values: dict[str, str]

    def __new__(cls, msgid: str, **values: object) -> Phrase:
        words = {name: str(value) for name, value in values.items()}
        phrase = super().__new__(cls, msgid.format(**words))
        phrase.msgid, phrase.values = msgid, words
        return phrase

    def said_in(self, lang: str) -> str:
        """The phrase in ``lang``, its values as they were."""
        return tr(lang, self.msgid).format(**self.values)


def say(lang: str, text: str) -> str:
    """``text`` in ``lang``: a :class:`Phrase` with its values, else a msgid (as is when
    it is in no catalogue, e.g. a detail from elsewhere)."""
    return text.said_in(lang) if isinstance(text, Phrase) else tr(lang, text)
