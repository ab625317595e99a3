"""Turn a digest plan into Telegram messages (HTML parse mode).

Every piece of feed text is escaped with ``html.escape``; links are kept only
for http(s) URLs. Messages are split at story boundaries so that each full
HTML string is at most :data:`MESSAGE_LIMIT` UTF-16 code units: Telegram
counts the visible text after parsing, so counting the markup too is safe. A
section that spills into the next message repeats its heading as
"<name> (cont.)". A story that alone exceeds a message is shortened as plain
text before escaping (summary first, then the "also covered" line, then the
headline), at a word boundary with "…", so no cut lands inside a tag or an
entity and tags stay balanced. Updates (new articles of stories the chat
already received) follow the sections under "Updates", one line each:
headline, outlet link, time.

Times show in the chat's zone, named once in the header, relative to the
digest's moment ("18:05", "yesterday 18:05", "15 Nov 2018, 13:46"). A section
cut at its limit gets a "+K more in <topic>" inline button under the message
that ends it, when the caller gives its callback data (``more_data``), else an
italic line. The words themselves live in :mod:`bot.digest.wording`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from html import escape
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.digest import wording
from bot.digest.content import DigestPlan, RenderedPart, Section, Story, Updates
from bot.digest.select import MY_FEEDS
from bot.language import DEFAULT_LANGUAGE, tr
from bot.store.records import Article

MESSAGE_LIMIT = 4096
LinkPreview = Literal["off", "top"]
# A section's "+K more" button: its callback data, or None for the italic line.
MoreData = Callable[[Section], "str | None"]

_SEPARATOR = "\n\n"
_ELLIPSIS = "…"
# Characters a cut must not end on or start before: joiners and marks bind to neighbours.
_GLUE = {"\u200d", "\u200c", "\u2060"}
_SKIN_TONES = ("\U0001f3fb", "\U0001f3ff")
_REGIONAL = ("\U0001f1e6", "\U0001f1ff")  # two of these make one flag


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def render_digest(
    plan: DigestPlan,
    *,
    tz: str,
    title: str | None = None,
    link_preview: LinkPreview = "off",
    at: datetime | None = None,
    now: datetime | None = None,
    footer: str | None = None,
    more_data: MoreData | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> list[RenderedPart]:
    """Render a plan as one or more messages; an empty plan gives no message.

    ``title`` adds a bold header line to the first message, followed by the
    local time of ``at`` when given and the zone (e.g. "Your news digest · Wed
    27 Nov 08:00 · Asia/Kolkata (UTC+05:30)"). Item times show in zone ``tz``,
    relative to ``now`` (default ``at``; neither gives "15 Nov, 19:16").
    ``footer`` is an italic last line. ``more_data`` gives a cut section's button
    data. With ``link_preview="top"`` only the first message shows a link preview.
    Every word and date is in language ``lang`` (``title`` and ``footer`` come translated).
    """
    if plan.is_empty:
        return []
    zone = ZoneInfo(tz)
    reference = now or at
    header = _header(title, at, tz, reference, lang)
    packer = _Packer(zone, header, reference, more_data, lang)
    for section in plan.sections:
        packer.add_section(section)
    if plan.updates is not None:
        packer.add_updates(plan.updates)
    if footer:
        packer.add_line(f"<i>{escape(footer)}</i>")
    return _parts(packer.finish(), link_preview, packer.buttons)


def render_story_list(
    articles: Sequence[Article],
    tz: str,
    heading: str,
    *,
    link_preview: LinkPreview = "off",
    now: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> list[RenderedPart]:
    """Render articles in the given order under one heading (/search).

    Uses the digest's story format and splitting; no articles give no message.
    With ``now``, times are relative and the heading names the zone.
    """
    if not articles:
        return []
    stories = tuple(Story(article) for article in articles)
    section = Section("", heading, stories)
    return render_section(section, tz, now=now, link_preview=link_preview, lang=lang)


def render_section(
    section: Section,
    tz: str,
    *,
    now: datetime | None = None,
    link_preview: LinkPreview = "off",
    lang: str = DEFAULT_LANGUAGE,
) -> list[RenderedPart]:
    """One section on its own (a "+K more" expansion, /search results): its heading
    names the zone when ``now`` is given; no stories give no message."""
    if not section.stories:
        return []
    zone = ZoneInfo(tz)
    packer = _Packer(zone, header=None, now=now, lang=lang)
    name = section.topic_name
    if now is not None:
        name = f"{name} · {wording.zone_label(tz, now)}"
    packer.add_section(replace(section, topic_name=name, more_count=0))
    return _parts(packer.finish(), link_preview, packer.buttons)


def safe_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) URL without spaces or controls, else None."""
    candidate = url.strip()
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def story_html(
    story: Story, zone: ZoneInfo, now: datetime | None = None, lang: str = DEFAULT_LANGUAGE
) -> str:
    """One story: bold headline, summary, the outlet as the link with the local time,
    other outlets."""
    article = story.article
    lines = [f"<b>{escape(article.headline.strip())}</b>"] if article.headline.strip() else []
    if article.summary.strip():
        lines.append(escape(article.summary.strip()))
    when = wording.item_time(article.published_at, zone, now, lang)
    lines.append(f"{_source_link(article, lang)} · {when}")
    if story.also:
        lines.append(f"<i>{escape(wording.also_covered_by(story.also, lang))}</i>")
    return "\n".join(lines)


def update_html(
    article: Article, zone: ZoneInfo, now: datetime | None = None, lang: str = DEFAULT_LANGUAGE
) -> str:
    """One update line: headline, source link, local time."""
    headline = escape(article.headline.strip())
    when = wording.item_time(article.published_at, zone, now, lang)
    link = _source_link(article, lang)
    return f"{headline} · {link} · {when}" if headline else f"{link} · {when}"


def _source_link(article: Article, lang: str) -> str:
    name = escape(article.source_name.strip() or tr(lang, wording.SOURCE_FALLBACK))
    url = safe_url(article.url)
    return f'<a href="{escape(url, quote=True)}">{name}</a>' if url else name


def _header(
    title: str | None, at: datetime | None, tz: str, reference: datetime | None, lang: str
) -> str | None:
    """The bold title, the digest's local time and, when item times are relative
    (so read in the chat's zone), the zone, named once."""
    if title is None:
        return None
    zone = ZoneInfo(tz)
    when = "" if at is None else f" · {wording.header_time(at, zone, lang)}"
    named = "" if reference is None else f" · {escape(wording.zone_label(tz, reference))}"
    return f"<b>{escape(title)}</b>{when}{named}"


def section_name(section: Section, lang: str) -> str:
    """A section's heading: the topic's configured name, or "My feeds" in ``lang``."""
    return tr(lang, section.topic_name) if section.topic_id == MY_FEEDS else section.topic_name


def _heading(name: str) -> str:
    return f"<b><u>{escape(name)}</u></b>"


def _more_line(section: Section, lang: str) -> str:
    more = wording.more_in_topic(section.more_count, section_name(section, lang), lang)
    return f"<i>{escape(more)}</i>"


def _parts(
    texts: list[str], link_preview: LinkPreview, buttons: dict[int, list[tuple[str, str]]]
) -> list[RenderedPart]:
    return [
        RenderedPart(
            text,
            disable_preview=link_preview == "off" or index > 0,
            buttons=tuple(buttons.get(index, ())),
        )
        for index, text in enumerate(texts)
    ]


class _Packer:
    """Fills messages block by block; a block never straddles two messages."""

    def __init__(
        self,
        zone: ZoneInfo,
        header: str | None,
        now: datetime | None = None,
        more_data: MoreData | None = None,
        lang: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.zone = zone
        self.lang = lang
        self.now = now
        self.more_data = more_data
        # Message index -> its "+K more" buttons as (label, callback data).
        self.buttons: dict[int, list[tuple[str, str]]] = {}
        self.done: list[str] = []
        self.current: list[str] = [header] if header else []
        self.has_content = False  # the current message holds more than the header
        self.continued: str | None = None  # heading to repeat if a section spills

    def add_section(self, section: Section) -> None:
        self.continued = None
        name = section_name(section, self.lang)
        lead = [_heading(name)]
        for story in section.stories:
            self._put(lead, partial(self._story, story))
            lead = []
            self.continued = _heading(wording.continued(name, self.lang))
        if not section.more_count:
            return
        data = self.more_data(section) if self.more_data is not None else None
        if data is None:
            self._put(lead, lambda _budget: _more_line(section, self.lang))
            return
        label = wording.more_in_topic(section.more_count, name, self.lang)
        self.buttons.setdefault(len(self.done), []).append((label, data))

    def add_updates(self, updates: Updates) -> None:
        self.continued = None
        heading = tr(self.lang, wording.UPDATES_HEADING)
        lead = [_heading(heading)]
        for article in updates.articles:
            self._put(lead, partial(self._update, article))
            lead = []
            self.continued = _heading(wording.continued(heading, self.lang))
        if updates.more_count:
            more = escape(wording.more_updates(updates.more_count, self.lang))
            self._put(lead, lambda _budget: f"<i>{more}</i>")

    def add_line(self, html: str) -> None:
        """A last line of its own (short, so it always fits a message)."""
        self.continued = None
        self._put([], lambda _budget: html)

    def finish(self) -> list[str]:
        if self.has_content:
            self.done.append(_SEPARATOR.join(self.current))
        return self.done

    def _put(self, lead: list[str], make: Callable[[int | None], str]) -> None:
        block = make(None)
        if not self._fits([*lead, block]):
            self._break(lead)
            lead = []
            if not self._fits([block]):
                block = make(self._budget())
        self.current.extend([*lead, block])
        self.has_content = True

    def _break(self, lead: list[str]) -> None:
        """Close the current message (unless it is still empty) and open the next."""
        if self.has_content:
            self.done.append(_SEPARATOR.join(self.current))
            self.current = []
            self.has_content = False
        opening = lead or ([self.continued] if self.continued else [])
        self.current.extend(opening)

    def _fits(self, blocks: list[str]) -> bool:
        return utf16_len(_SEPARATOR.join([*self.current, *blocks])) <= MESSAGE_LIMIT

    def _budget(self) -> int:
        used = utf16_len(_SEPARATOR.join(self.current))
        return MESSAGE_LIMIT - used - (utf16_len(_SEPARATOR) if self.current else 0)

    def _story(self, story: Story, budget: int | None) -> str:
        html = story_html(story, self.zone, self.now, self.lang)
        if budget is None or utf16_len(html) <= budget:
            return html
        return _shorten_story(story, self.zone, budget, self.now, self.lang)

    def _update(self, article: Article, budget: int | None) -> str:
        html = update_html(article, self.zone, self.now, self.lang)
        if budget is None or utf16_len(html) <= budget:
            return html
        short = Story(replace(article, summary=""))
        return _shorten_story(short, self.zone, budget, self.now, self.lang)


def _shorten_story(
    story: Story, zone: ZoneInfo, budget: int, now: datetime | None, lang: str
) -> str:
    """Shorten a story's texts until its HTML fits ``budget`` UTF-16 units."""

    def fits(candidate: Story) -> bool:
        return utf16_len(story_html(candidate, zone, now, lang)) <= budget

    shortened = _shorten_field(story, story.article.summary, _with_summary, fits)
    if not fits(shortened):
        shortened = replace(shortened, also=())
        shortened = _shorten_field(shortened, story.article.headline, _with_headline, fits)
    html = story_html(shortened, zone, now, lang)
    if utf16_len(html) > budget:
        raise ValueError(f"story {story.article.id} cannot fit in {budget} UTF-16 units")
    return html


def _with_summary(story: Story, summary: str) -> Story:
    return replace(story, article=replace(story.article, summary=summary))


def _with_headline(story: Story, headline: str) -> Story:
    return replace(story, article=replace(story.article, headline=headline))


def _shorten_field(
    story: Story, text: str, put: Callable[[Story, str], Story], fits: Callable[[Story], bool]
) -> Story:
    """The story with ``text`` cut to the longest word-boundary prefix that fits."""
    text = text.strip()
    low, high = 0, len(text)  # invariant: a cut at ``low`` fits (an empty text is tried last)
    if fits(put(story, text)):
        return put(story, text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(put(story, _cut(text, middle))):
            low = middle
        else:
            high = middle - 1
    return put(story, _cut(text, low) if low else "")


def _cut(text: str, length: int) -> str:
    """``text`` cut to at most ``length`` characters at a word boundary, plus "…"."""
    if length >= len(text):
        return text
    end = length
    if not text[end].isspace():
        space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
        # Long runs without spaces (CJK, URLs) are cut mid-word rather than emptied.
        if space > length // 2:
            end = space
    while end > 0 and _binds(text[end - 1], text[end]):
        end -= 1
    prefix = text[:end].rstrip()
    return f"{prefix}{_ELLIPSIS}" if prefix else ""


def _binds(before: str, after: str) -> bool:
    """True when a cut between these characters would break one visible character."""
    if before in _GLUE or after in _GLUE:
        return True
    if unicodedata.category(after).startswith("M") or _SKIN_TONES[0] <= after <= _SKIN_TONES[1]:
        return True
    return _is_regional(before) and _is_regional(after)


def _is_regional(char: str) -> bool:
    return _REGIONAL[0] <= char <= _REGIONAL[1]
