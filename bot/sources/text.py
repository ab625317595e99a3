"""Pure text cleaning: headlines, HTML to text, sentences, summaries.

Everything here is a plain function of its input (no I/O, no state), so the
feed parser, the page extractor and the plain-text importer share one set of
rules. Output is plain text: no HTML survives, entities are decoded. Escaping
for Telegram happens later, at render time.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.sources.boilerplate import is_furniture, remove_dateline, strip_boilerplate

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
# A tag starts with a letter, "/" or "!"; "a < b" is text, not a tag. Text without
# one is plain text, whose line breaks are kept (HTML's whitespace is not).
_TAG_RE = re.compile(r"<(?:[A-Za-z][^<>]*|/[A-Za-z][^<>]*|!--.*?--|![^<>]*)>", re.DOTALL)
_PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
# What no stored or sent text may hold: C0 controls but tab, newline and CR (NUL breaks
# PostgreSQL's text type, ESC reaches Telegram as a raw escape), DEL, C1 controls, and
# the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), which can make
# a headline or an echoed name read backwards.
_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")  # lone halves (JSON "\\ud800") cannot be encoded


def safe_text(text: str) -> str:
    """``text`` without control characters (tab and line breaks kept) or bidi overrides,
    lone surrogates replaced by U+FFFD.

    The one hygiene rule for everything that came from outside: every headline,
    summary, lead, URL and guid the source layer produces, and user text the bot
    echoes back. Cheap on clean text (one scan that finds nothing).
    """
    if _UNSAFE_RE.search(text):
        text = _UNSAFE_RE.sub("", text)
    if _SURROGATE_RE.search(text):
        text = _SURROGATE_RE.sub("\ufffd", text)
    return text


def _squash(text: str) -> str:
    """Runs of whitespace as one space, none at either end."""
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
    paragraphs = []
    for block in _PARAGRAPH_BREAK_RE.split(raw):
        lines = [_squash(line) for line in block.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _render_html(markup: str) -> str:
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return _tidy_paragraphs("".join(collector.parts))


def _drop_invisible(text: str) -> str:
    """Text without zero-width spaces, BOMs and soft hyphens."""
    return _INVISIBLE_RE.sub("", text)


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
    markup = _drop_invisible(safe_text(markup))
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
    return _squash(html_to_text(raw))


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
    start = end
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    return text[start:end]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences without breaking at "Mr.", "U.S.", "Dr.", initials or decimals."""
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


def _cut_at_word(text: str, limit: int) -> str:
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else text[:limit]
    return cut.rstrip(" ,;:-–—([{\"'“‘") + "…"


SUMMARY_CHARS = 300
MAX_SUMMARY_SENTENCES = 3
_HEADLINE_KEY_RE = re.compile(r"[\W_]+")
_SENTENCE_STOPS = frozenset(".!?…\"'”’»)]")


def _headline_key(text: str) -> str:
    """Letters and digits only, case-folded: how a repeated headline is recognised."""
    return _HEADLINE_KEY_RE.sub("", text.casefold())


def _sentences_of_paragraphs(text: str, budget: int) -> list[str]:
    """The sentences of the paragraphs in order, until they hold more than ``budget``
    characters (a summary needs only the first ones; a long body is not split whole).
    A paragraph's end always ends a sentence: a standfirst without a full stop gets
    one, so it is not glued to the next paragraph.
    """
    sentences: list[str] = []
    size = 0
    for paragraph in text.split("\n\n"):
        if size > budget:
            break
        if sentences and sentences[-1][-1] not in _SENTENCE_STOPS:
            sentences[-1] += "."
        more = split_sentences(_squash(paragraph))
        sentences.extend(more)
        size += sum(len(sentence) + 1 for sentence in more)
    return sentences


def _without_headline(sentence: str, headline: str) -> str:
    """``sentence`` without the headline it starts with; "" when it is only the headline."""
    flat = _squash(headline)
    if flat and sentence.casefold().startswith(flat.casefold()):
        rest = sentence[len(flat) :].lstrip(" .:;,-–—|")
        return rest if _headline_key(rest) else ""
    return ""  # the same words with other punctuation: the sentence is the headline


def _repeats_headline(sentence: str, headline_key: str) -> bool:
    """True when ``sentence`` is the headline again (maybe with a dateline or a colon)."""
    key = _headline_key(sentence)
    if not key or not headline_key:
        return False
    return key == headline_key or (len(headline_key) >= 20 and key.startswith(headline_key))


def make_summary(
    text: str, limit: int = SUMMARY_CHARS, *, headline: str = "", max_sentences: int | None = None
) -> str:
    """One paragraph of whole sentences (at most ``max_sentences`` when given), at most
    about ``limit`` characters; "" when the text only repeats ``headline``.

    A first sentence that repeats the headline is dropped (furniture is the
    caller's: :func:`clean_text` and :func:`final_summary` trim it). Whole sentences are kept while
    they fit in ``limit``. A first sentence longer than ``limit * 1.3`` is cut at a
    word boundary and ends with "…"; one between ``limit`` and ``limit * 1.3`` is
    kept whole.
    """
    headline_key = _headline_key(headline)
    # Beyond twice the limit no sentence can be kept; the headline may come first.
    sentences = _sentences_of_paragraphs(text, 2 * limit + len(headline))
    if sentences and _repeats_headline(sentences[0], headline_key):
        sentences[0] = _without_headline(sentences[0], headline)
        if not sentences[0]:
            sentences.pop(0)
    summary = ""
    for sentence in sentences[:max_sentences]:
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > limit:
            break
        summary = candidate
    if summary or not sentences:
        return summary
    first = sentences[0]
    return first if len(first) <= limit * 1.3 else _cut_at_word(first, limit)


def final_summary(summary: str, headline: str) -> str:
    """The summary a story is stored and shown with: 1 to 3 whole sentences of at most
    about 300 characters (one longer sentence is cut at a word, with "…"), no furniture
    at either end, no dateline, never the headline again ("" then).

    The one rule for every source: ingestion (``prepare``) and the shell's samples.
    """
    return make_summary(
        trim_furniture(summary),
        SUMMARY_CHARS,
        headline=headline,
        max_sentences=MAX_SUMMARY_SENTENCES,
    )


def trim_furniture(text: str) -> str:
    """``text`` without furniture sentences (see ``boilerplate.is_furniture``) at its start
    and end, and without a dateline then at its start. Paragraph breaks are kept.

    Only the edges: a sentence in the middle of a story is never judged.
    """
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    while paragraphs:
        kept = _drop_edge_sentences(paragraphs[0], leading=True)
        if kept:
            paragraphs[0] = remove_dateline(kept)
            break
        paragraphs.pop(0)
    while paragraphs:
        kept = _drop_edge_sentences(paragraphs[-1], leading=False)
        if kept:
            paragraphs[-1] = kept
            break
        paragraphs.pop()
    return "\n\n".join(p for p in paragraphs if p)


def _drop_edge_sentences(paragraph: str, *, leading: bool) -> str:
    """The paragraph without its furniture sentences at the start (or at the end)."""
    sentences = split_sentences(" ".join(paragraph.split()))
    if not sentences or not (is_furniture(sentences[0]) or is_furniture(sentences[-1])):
        return paragraph  # the common case: the paragraph stays as it was, breaks and all
    index = 0 if leading else -1
    while sentences and is_furniture(sentences[index]):
        sentences.pop(index)
    return " ".join(sentences)


def clean_text(markup: str) -> str:
    """HTML (or text) to plain text without boilerplate or leading dateline."""
    return trim_furniture(remove_dateline(strip_boilerplate(html_to_text(markup))))


def summary_from_html(markup: str, limit: int = SUMMARY_CHARS, *, headline: str = "") -> str:
    """Summary of an HTML (or plain-text) description: html_to_text, strip_boilerplate,
    remove_dateline, trim_furniture, then make_summary.
    """
    return make_summary(clean_text(markup), limit, headline=headline)
