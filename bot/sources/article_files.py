"""Articles from files: scraped plain text, saved HTML pages and small JSON records.

A scraped plain-text article looks like a printed page: headline, standfirst,
a ``Published: ... | Last Updated: ...`` line, a photo caption, the body
(starting with a dateline such as ``SINGAPORE:``) and then page furniture (app
promos, comment disclaimers, share-button words). Only the headline, the
standfirst, the date and the body's first paragraphs are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.errors import ParseError
from bot.sources.boilerplate import remove_dateline, strip_boilerplate
from bot.sources.dates import parse_date
from bot.sources.drafts import ArticleDraft
from bot.sources.pages import extract_page
from bot.sources.text import (
    clean_headline,
    html_to_text,
    make_summary,
    safe_text,
    summary_from_html,
)
from bot.sources.urls import canonical_url

LEAD_CHARS = 600  # whole paragraphs until the lead is at least this long
HEADER_LINES = 6  # the standfirst and the date line sit right under the headline

_DATE_FIELD_RE = re.compile(
    r"^(?P<label>(?:first\s+)?published|posted|last\s+updated|updated)"
    r"(?:\s+on\b\s*:?|\s*:|(?=\s+\d))\s*(?P<value>.+)$",  # "Updated 5 May", not "Updated rules"
    re.IGNORECASE,
)
# "By Staff Reporter", not "By noon, the rain had stopped."
_BYLINE_RE = re.compile(r"^(?:by|written by|reported by)\s+[^,.;]{2,60}$", re.IGNORECASE)
_CAPTION_RE = re.compile(
    r"\((?:[^()]*\b(?:photo|image|pic|picture|file)\b[^()]*)\)\s*$"  # "... (Photo | AP)"
    r"|\b(?:photo|image|picture|pic)\s*(?:credit)?\s*[|:]\s*[^.|:]{1,40}$"  # "... Photo: Reuters"
    r"|^(?:file photo|file image|file picture|image used for representational"
    r"|representational (?:image|photo|picture)|photo\s*[:|]|image\s*[:|]|picture\s*[:|])",
    re.IGNORECASE,
)
# Lines where the story is over and the page's furniture begins.
_TAIL_START_RE = re.compile(
    r"^(?:disclaimer\b|stay (?:up to date|updated|tuned)\b|comments?$|now we are on telegram"
    r"|\(?get the (?:news|latest)\b|download (?:the|our) app|also read\b|related (?:stories|news)"
    r"|trending\b|follow us\b|advertisement$|the views expressed in comments)",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’)]*$")
_LABEL_PRIORITY = ("published", "posted", "first", "last", "updated")


def parse_text_article(text: str, *, url: str, default_tz: tzinfo = UTC) -> ArticleDraft:
    """Read a scraped plain-text article; raise ParseError when it has no headline.

    The standfirst (the sentence(s) between the headline and the date line) is
    the preferred summary, else the lead of the body. Dates without a zone are
    read in ``default_tz``.
    """
    lines = _paragraph_lines(safe_text(text))
    if not lines:
        raise ParseError("empty text article")
    headline = clean_headline(lines[0])
    if not headline:
        raise ParseError("text article without a headline")
    header, body = _split_header(lines[1:])
    standfirst = [line for line in header if _is_standfirst(line)]
    lead = _lead(_body_paragraphs(body, skip=set(standfirst)))
    summary_source = strip_boilerplate(" ".join(standfirst)) or lead
    return ArticleDraft(
        headline=headline,
        url=canonical_url(url),
        summary=make_summary(summary_source),
        published_at=_published(header, default_tz),
        lead=lead,
    )


def parse_article_file(path: Path, *, base_url: str, default_tz: tzinfo = UTC) -> ArticleDraft:
    """Read one file of a ``folder`` source: .txt, .html/.htm or .json.

    A file that names no URL gets ``base_url + file name`` (``base_url`` like
    ``file:///abs/folder/``). Raise ParseError for unknown kinds or unreadable files.
    """
    url = base_url + quote(path.name)
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            return parse_text_article(_read_text(path), url=url, default_tz=default_tz)
        if suffix in (".html", ".htm"):
            return _parse_html_file(path, url=url, default_tz=default_tz)
        if suffix == ".json":
            return _parse_json_record(_read_text(path), url=url, default_tz=default_tz)
    except OSError as err:
        raise ParseError(f"cannot read {path.name}: {err}") from err
    raise ParseError(f"unsupported article file {path.name!r}; use .txt, .html, .htm or .json")


# --- plain text ----------------------------------------------------------------


def _paragraph_lines(text: str) -> list[str]:
    """Non-empty lines with whitespace (including no-break spaces) collapsed."""
    return [joined for line in text.splitlines() if (joined := " ".join(line.split()))]


def _is_meta(line: str) -> bool:
    return bool(_DATE_FIELD_RE.match(line) or _BYLINE_RE.match(line) or _CAPTION_RE.search(line))


def _split_header(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split after the headline into (standfirst + meta lines, body).

    Without a date line, byline or caption near the top there is no standfirst:
    the body starts right under the headline.
    """
    first_meta = next((i for i, line in enumerate(lines[:HEADER_LINES]) if _is_meta(line)), None)
    if first_meta is None:
        return [], lines
    end = first_meta
    while end < len(lines) and (_is_meta(lines[end]) or not _looks_like_prose(lines[end])):
        end += 1
    return lines[:end], lines[end:]


def _looks_like_prose(line: str) -> bool:
    """A sentence, not a label like "Express News Service" or "A+A-"."""
    return bool(_SENTENCE_END_RE.search(line)) or len(line) > 80


def _is_standfirst(line: str) -> bool:
    return _looks_like_prose(line) and not _is_meta(line)


def _body_paragraphs(lines: list[str], *, skip: set[str]) -> list[str]:
    """Story paragraphs: captions and repeats of the standfirst dropped, furniture cut off."""
    paragraphs: list[str] = []
    for line in lines:
        if _TAIL_START_RE.match(line):
            break
        if line in skip or _DATE_FIELD_RE.match(line) or _CAPTION_RE.search(line):
            continue
        paragraphs.append(line)
    cleaned = strip_boilerplate("\n\n".join(paragraphs))
    return [p for p in cleaned.split("\n\n") if p]


def _lead(paragraphs: list[str]) -> str:
    """The first paragraphs, dateline removed, until about LEAD_CHARS long."""
    lead: list[str] = []
    for paragraph in paragraphs:
        lead.append(remove_dateline(paragraph) if not lead else paragraph)
        if sum(len(p) for p in lead) >= LEAD_CHARS:
            break
    return "\n\n".join(p for p in lead if p)


def _date_fields(lines: Sequence[str]) -> list[tuple[str, str]]:
    """(label, value) pairs from lines like "Published: ... | Last Updated: ... | A+A-"."""
    fields = []
    for line in lines:
        for part in line.split("|"):
            match = _DATE_FIELD_RE.match(part.strip())
            if match:
                fields.append((match.group("label").lower(), match.group("value").strip()))
    return fields


def _published(lines: Sequence[str], default_tz: tzinfo) -> datetime | None:
    """The publication date: "Published" first, then "Posted", then "Updated"."""
    fields = _date_fields(lines)
    fields.sort(key=lambda field: _label_rank(field[0]))
    for _label, value in fields:
        parsed = parse_date(value, default_tz=default_tz)
        if parsed is not None:
            return parsed
    return None


def _label_rank(label: str) -> int:
    return next((i for i, word in enumerate(_LABEL_PRIORITY) if label.startswith(word)), 99)


# --- other file kinds ------------------------------------------------------------


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _parse_html_file(path: Path, *, url: str, default_tz: tzinfo) -> ArticleDraft:
    draft = extract_page(path.read_bytes(), url=url, default_tz=default_tz)
    if draft is None:
        raise ParseError(f"no article found in {path.name}")
    return draft


def _parse_json_record(raw: str, *, url: str, default_tz: tzinfo) -> ArticleDraft:
    """A JSON object with title, url, summary, published, categories (all but title optional)."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ParseError(f"bad JSON article: {err}") from err
    if not isinstance(record, dict):
        raise ParseError("a JSON article must be an object")
    headline = clean_headline(_text_field(record, "title"))
    if not headline:
        raise ParseError("JSON article without a title")
    body = strip_boilerplate(html_to_text(_text_field(record, "text")))
    lead = _lead([p for p in body.split("\n\n") if p])
    summary = summary_from_html(_text_field(record, "summary")) or make_summary(lead)
    return ArticleDraft(
        headline=headline,
        url=canonical_url(_text_field(record, "url") or url),
        summary=summary,
        published_at=parse_date(_text_field(record, "published"), default_tz=default_tz),
        guid=_text_field(record, "id") or None,
        categories=_categories(record.get("categories")),
        lead=lead,
    )


def _text_field(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return safe_text(value).strip() if isinstance(value, str) else ""


def _categories(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    names = (
        " ".join(safe_text(str(item)).split()) for item in value if isinstance(item, str | int)
    )
    return tuple(dict.fromkeys(name for name in names if name))
