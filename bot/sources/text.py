"""Pure text cleaning: headlines, HTML to text, boilerplate, datelines, summaries.

Everything here is a plain function of its input (no I/O, no state), so the
feed parser, the page extractor and the plain-text importer share one set of
rules. Output is plain text: no HTML survives, entities are decoded. Escaping
for Telegram happens later, at render time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial
from html.parser import HTMLParser

_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "iframe", "object", "head", "figcaption"}
)
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
        "pre", "table", "tr", "section", "article", "header", "footer", "figure", "hr",
        "dd", "dt", "dl", "aside", "nav", "main", "address", "tbody", "thead", "center",
    }
)  # fmt: skip
_WS_RE = re.compile(r"\s+")
_INVISIBLE_RE = re.compile(r"[\u200b\ufeff\u00ad]")
_ENTITY_RE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,8}|#\d{2,7}|#[xX][0-9A-Fa-f]{2,6});")
# A tag starts with a letter, "/" or "!"; "a < b" is text, not a tag.
_TAG_RE = re.compile(r"<(?:[A-Za-z][^<>]*|/[A-Za-z][^<>]*|!--.*?--|![^<>]*)>", re.DOTALL)
_SKIP_BLOCK_RE = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE
)
# A well-formed start or end tag: name, attributes with quoted or bare values.
_PLAIN_TAG_RE = re.compile(
    r"""<(?:(?P<name>[A-Za-z][A-Za-z0-9]*)"""
    r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*\s*/?"""
    r"""|/(?P<end>[A-Za-z][A-Za-z0-9]*)\s*)>"""
)
_PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
# What a tag leaves in the text: a line break, a paragraph break, nothing (""), or
# None for the start or end of a region html.parser must skip (scripts, captions).
_START_TAG_BREAKS: dict[str, str | None] = {
    "br": "\n",
    **dict.fromkeys(_BLOCK_TAGS, "\n\n"),
    **dict.fromkeys(_SKIP_TAGS, None),
}
_END_TAG_BREAKS: dict[str, str | None] = {
    **dict.fromkeys(_BLOCK_TAGS, "\n\n"),
    **dict.fromkeys(_SKIP_TAGS, None),
}


def _squash(text: str) -> str:
    """``_WS_RE.sub(" ", text).strip()``, several times faster: str.split, str.strip and
    the regex's ``\\s`` all take the same characters for whitespace (str.isspace).
    """
    # Most texts are squashed already, and checking is cheaper than splitting. Every
    # str.isspace character but the space is unprintable (checked over all of Unicode),
    # so the only whitespace a printable text can have is spaces.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


class _TextCollector(HTMLParser):
    """Collects visible text; block tags become paragraph breaks, <br> a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>, <img/>: never open a skipped region.
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth == 0:
            self.parts.append(_WS_RE.sub(" ", data))


def _tidy_paragraphs(raw: str) -> str:
    """Strip each line, drop empty lines/paragraphs, join paragraphs with a blank line."""
    core = raw.strip()
    if "\n" not in core:
        return _squash(core)  # one line (the common description): no breaks to find
    paragraphs = []
    for block in _PARAGRAPH_BREAK_RE.split(raw):
        lines = [_squash(line) for line in block.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _render_html(markup: str) -> str:
    raw = _plain_markup_text(markup)
    if raw is None:
        collector = _TextCollector()
        collector.feed(markup)
        collector.close()
        raw = "".join(collector.parts)
    return _tidy_paragraphs(raw)


def _plain_markup_text(markup: str) -> str | None:
    """What _TextCollector collects from ``markup``, joined, by one regex split; None
    unless every "<" opens a well-formed tag and no tag opens a skipped region
    (html.parser's job). Runs of whitespace in the text are left as they are, but
    newlines become spaces: _tidy_paragraphs, which reads the result, then gives
    what it gives for the collector's text (whose runs are single spaces).
    """
    pieces = _PLAIN_TAG_RE.split(markup)  # text, start tag name, end tag name, text, ...
    out: list[str] = []
    for index in range(0, len(pieces) - 1, 3):
        if not _add_text(out, pieces[index]):
            return None
        start = pieces[index + 1]
        if start is not None:
            brk = _START_TAG_BREAKS.get(start.lower(), "")
        else:
            brk = _END_TAG_BREAKS.get(pieces[index + 2].lower(), "")
        if brk is None:
            return None
        out.append(brk)
    return "".join(out) if _add_text(out, pieces[-1]) else None


def _add_text(out: list[str], text: str) -> bool:
    """Append text between tags, entities decoded; False for a stray "<"."""
    if "<" in text:
        return False
    out.append((html.unescape(text) if "&" in text else text).replace("\n", " "))
    return True


def _drop_invisible(text: str) -> str:
    """Text without zero-width spaces, BOMs and soft hyphens (never in ASCII text)."""
    return text if text.isascii() else _INVISIBLE_RE.sub("", text)


def _decode_leftover_entities(text: str) -> str:
    """Decode entities that survived one decoding (feeds often double-escape: ``&amp;amp;``)."""
    for _ in range(2):
        if not _ENTITY_RE.search(text):
            break
        text = html.unescape(text)
    return text


def html_to_text(markup: str) -> str:
    """Turn an HTML fragment (or plain text) into plain text.

    Paragraphs are separated by ``"\\n\\n"``, ``<br>`` gives ``"\\n"``; scripts,
    styles and captions are dropped; entities are decoded, including
    double-escaped ones. Escaped HTML (``&lt;p&gt;``) is rendered too.
    """
    if not markup:
        return ""
    markup = _drop_invisible(markup)
    if "<" not in markup and "&" not in markup:
        return _tidy_paragraphs(markup)
    if not _TAG_RE.search(markup):
        markup = _decode_leftover_entities(html.unescape(markup))
        if not _TAG_RE.search(markup):
            return _tidy_paragraphs(markup)
    text = _decode_leftover_entities(_render_html(markup))
    if _TAG_RE.search(text):  # the HTML was escaped once more than it should be
        text = _decode_leftover_entities(_render_html(text))
    return text


def clean_headline(raw: str) -> str:
    """Headline as one line of plain text: no HTML, entities decoded, whitespace collapsed."""
    if not raw:
        return ""
    text = _drop_invisible(raw)
    if "<" not in text and "&" not in text:
        return _squash(text)  # no tag to strip, no entity to decode: the loop would stop
    for _ in range(3):
        stripped = _TAG_RE.sub(" ", _SKIP_BLOCK_RE.sub(" ", text))
        decoded = html.unescape(stripped)
        if decoded == text:
            break
        text = decoded
    return _squash(text)


# --- boilerplate -------------------------------------------------------------

_SHARE_WORDS = frozenset(
    {
        "facebook", "twitter", "whatsapp", "flipboard", "linkedin", "email", "e-mail", "mail",
        "reddit", "telegram", "pinterest", "share", "print", "tumblr", "pocket", "messenger",
        "koo", "sms", "copy", "link", "x", "threads", "bluesky", "google", "this", "article",
        "on", "via", "tweet", "comments", "comment", "save",
    }
)  # fmt: skip
_SHARE_BRANDS = frozenset(
    {"facebook", "twitter", "whatsapp", "flipboard", "linkedin", "reddit", "telegram", "pinterest"}
)
# Each pattern with a lower-cased text its match must contain: the regexes start
# with "\s*", which re tries at every position, so they run only when it is there.
_TAIL_PATTERNS = (
    ("continue reading", re.compile(r"\s*\bContinue reading\b.*$", re.IGNORECASE | re.DOTALL)),
    (
        "appeared first on",
        re.compile(r"\s*\bThe post\b.{1,400}?\bappeared first on\b.*$", re.DOTALL),
    ),
    (
        "read ",
        re.compile(
            r"\s*(?:\.\.\.|…)?\s*\b(?:Read|Click here to read) (?:more|the full (?:story|article)"
            r"|full (?:story|article))\b[\s.…»›>\]]*$",
            re.IGNORECASE,
        ),
    ),
    ("]", re.compile(r"\s*\[\s*(?:…|\.\.\.)\s*\]\s*$")),
    # podcast hosts append these to every episode description
    (
        "omnystudio.com/listener",
        re.compile(r"\s*\bSee omnystudio\.com/listener for privacy information\.?$", re.I),
    ),
    (
        "learn more about your ad choices.",
        re.compile(r"\s*\bLearn more about your ad choices\..*$", re.IGNORECASE | re.DOTALL),
    ),
)
# Whole lines that are buttons or labels of the page, not text.
_UI_LINES = frozenset(
    {"dismiss", "close", "advertisement", "skip advertisement", "sponsored", "loading",
     "loading...", "subscribe", "sign up", "share", "share this article", "listen", "play"}
)  # fmt: skip
_CLICK_HERE_RE = re.compile(
    r"\s*\([^()]*\b(?:click|tap) (?:here|this link)\b[^()]*\)", re.IGNORECASE
)
_PROMO_RE = re.compile(
    r"^(?:stay (?:up to date|updated|tuned)|get the (?:latest|news)|download (?:our|the)"
    r"|follow us|subscribe to our)\b.*\b(?:app|download|whatsapp|telegram|newsletter)\b",
    re.IGNORECASE | re.DOTALL,
)
_SHARE_LINE_WORD_RE = re.compile(r"[\w-]+")
_DISCLAIMER_RE = re.compile(
    r"^(?:disclaimer\s*:|the views expressed in (?:the )?comments)", re.IGNORECASE
)


def _is_share_line(line: str) -> bool:
    if len(line) >= 120:
        return False
    words = _SHARE_LINE_WORD_RE.findall(line.lower())
    return bool(words) and all(w in _SHARE_WORDS for w in words)


def _cut_trailing_share_words(line: str) -> str:
    """Drop a run of share-button words glued to the end of a line ("... flipboard facebook")."""
    if line.rpartition(" ")[2].lower() not in _SHARE_BRANDS:
        return line  # the common case: nothing to cut
    tokens = line.split(" ")
    end = len(tokens)
    while end > 0 and tokens[end - 1].lower() in _SHARE_BRANDS:  # bare words, no punctuation
        end -= 1
    return line if len(tokens) - end < 3 else " ".join(tokens[:end]).rstrip()


def _clean_line(line: str) -> str:
    if "(" in line:
        line = _CLICK_HERE_RE.sub("", line)
    line = line.strip()
    lowered = line.casefold()  # the tail patterns only cut: what they look for is in here
    for needle, pattern in _TAIL_PATTERNS:
        if needle in lowered:
            line = pattern.sub("", line).strip()
    line = _cut_trailing_share_words(line)
    if line.casefold() in _UI_LINES or _is_share_line(line):
        return ""
    if _PROMO_RE.match(line) or _DISCLAIMER_RE.match(line):
        return ""
    return line


def strip_boilerplate(text: str) -> str:
    """Remove page furniture: "Continue reading...", "The post X appeared first on Y.",
    "Read more", app promos, comment disclaimers, share-button words, "(Click here ...)"
    and a trailing "[…]". Paragraph breaks are kept.
    """
    paragraphs = []
    for block in text.split("\n\n"):
        lines = [_clean_line(line) for line in block.split("\n")]
        kept = "\n".join(line for line in lines if line)
        if kept:
            paragraphs.append(kept)
    return "\n\n".join(paragraphs)


# --- datelines ---------------------------------------------------------------

_AGENCY = r"\((?:[A-Za-z][A-Za-z.&]{1,14}|[A-Z][A-Za-z]+ [A-Z][A-Za-z]+)\)|/[A-Z][A-Za-z ]{2,30}/"
_DATELINE_RE = re.compile(
    r"^(?P<place>[^\W\d_][^\W\d_ .'’-]*(?:[ .'’-]+[^\W\d_]+){0,3}\.?)"  # place, up to 4 words
    r"(?P<date>,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?|\d{1,2}\s+[A-Z][a-z]{2,8}))?"
    rf"(?P<agency>\s*(?:{_AGENCY}))?"
    r"\s*(?P<sep>:|—|–|--|-)\s+"
)


def remove_dateline(text: str) -> str:
    """Remove a news dateline at the start: "SINGAPORE: ", "NEW DELHI, Nov 15 (Reuters) - ",
    "LONDON — ", "Berlin (dpa) - ". The place must be in capitals unless an agency
    tag follows it, so ordinary sentences are left alone.
    """
    if ":" not in text and "-" not in text and "—" not in text and "–" not in text:
        # No separator, no dateline: four scans in C instead of the pattern's
        # backtracking over the first words (~4 us a lead; the story signature reads
        # every lead again after clean_text took its dateline off).
        return text
    match = _DATELINE_RE.match(text)
    if not match:
        return text
    place = match.group("place")
    has_agency = bool(match.group("agency"))
    is_caps = place.upper() == place and sum(map(str.isalpha, place)) >= 2
    if not (is_caps or has_agency):
        return text
    if match.group("sep") == "-" and not (has_agency or match.group("date")) and " " not in place:
        return text  # "UPPER-case" hyphen without agency/date is too ambiguous
    return text[match.end() :]


# --- summaries ---------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "col", "lt", "sgt", "capt",
        "gov", "sen", "rep", "rev", "hon", "no", "nos", "vs", "etc", "inc", "ltd", "co", "corp",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "mt", "ft", "fig", "approx", "dept", "est", "vol", "pp", "cf", "al", "av", "ave",
        "adm", "maj", "cmdr", "supt", "insp", "sh", "smt", "shri", "messrs",
    }
)  # fmt: skip
# "next" is the first letter or digit of the following sentence.
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?(?P<next>[^\W_]))")
_INITIALS_RE = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")


def _is_abbreviation(text: str, dot_index: int) -> bool:
    """True when the "." at dot_index ends an abbreviation ("Mr.", "U.S.", "J.")."""
    token = _token_before(text, dot_index)
    if not token:
        return False
    if token.lower() in _ABBREVIATIONS:
        return True
    if len(token) == 1 and token.isupper():  # an initial: "John F. Kennedy"
        return True
    return bool(_INITIALS_RE.fullmatch(token))  # U.S, e.g, a.m


def _token_before(text: str, end: int) -> str:
    """The run of characters before ``end`` back to whitespace or an opening quote."""
    # Most such runs are a plain word after a space: no need to look at each character.
    word = text[text.rfind(" ", 0, end) + 1 : end]
    if word.isalnum():
        return word
    start = end
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    return text[start:end]


def split_sentences_py(text: str) -> list[str]:
    """Split text into sentences without breaking at "Mr.", "U.S.", "Dr.", initials or decimals.

    The reference version: ``bot/sources/_speedups.c`` does the same in C where it
    was built, and :func:`split_sentences` is then that one (the tests compare them).
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        if match.group("next").islower():
            continue  # "approx. five", "the U.S. economy": not a new sentence
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _compiled_split_sentences() -> Callable[[str], list[str]] | None:
    """The C version of :func:`split_sentences_py`, or None where it was not built."""
    try:
        from bot.sources._speedups import split_sentences as compiled
    except ImportError:  # installed without a C compiler: the Python version serves
        return None
    return partial(compiled, _ABBREVIATIONS)


# Split text into sentences without breaking at "Mr.", "U.S.", "Dr.", initials or decimals.
split_sentences: Callable[[str], list[str]] = _compiled_split_sentences() or split_sentences_py


def _cut_at_word(text: str, limit: int) -> str:
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else text[:limit]
    return cut.rstrip(" ,;:-–—([{\"'“‘") + "…"


def make_summary(text: str, limit: int = 300) -> str:
    """One paragraph of at most about ``limit`` characters, cut at a sentence boundary.

    Whole sentences are kept while they fit in ``limit``. A first sentence longer
    than ``limit * 1.3`` is cut at a word boundary and ends with "…"; one between
    ``limit`` and ``limit * 1.3`` is kept whole.
    """
    flat = _squash(text)
    if len(flat) <= limit:
        return flat
    sentences = split_sentences(flat)
    summary = ""
    for sentence in sentences:
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > limit:
            break
        summary = candidate
    if summary:
        return summary
    first = sentences[0] if sentences else flat
    return first if len(first) <= limit * 1.3 else _cut_at_word(first, limit)


def clean_text(markup: str) -> str:
    """HTML (or text) to plain text without boilerplate or leading dateline."""
    return remove_dateline(strip_boilerplate(html_to_text(markup)))


def summary_from_html(markup: str, limit: int = 300) -> str:
    """Summary of an HTML (or plain-text) description: html_to_text, strip_boilerplate,
    remove_dateline, then make_summary.
    """
    return make_summary(clean_text(markup), limit)
