"""The parse-time fast paths give exactly what the general code gives.

Each fast path (canonical URLs, RFC 822 dates, signature text, topic
matchers, feedparser's URI fix, headline cleaning) is checked against the
general path it skips, on hand-picked edge cases and on seeded random inputs.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from bot.settings import TopicConfig
from bot.sources import dates
from bot.sources.classify import classify, classify_with, topic_matchers
from bot.sources.cluster import (
    _ACRONYM_DOTS_RE,
    _ASCII_TOKEN_RE,
    _TOKEN_RE,
    _undot,
    _undot_acronyms,
    signature,
    signature_parts,
    signature_text,
)
from bot.sources.drafts import ArticleDraft
from bot.sources.feeds import _URI_FIXER_RE, _base_for, _fix_uri
from bot.sources.text import _token_before, clean_headline, split_sentences
from bot.sources.urls import _canonical_of, canonical_url

# --- canonical URLs -------------------------------------------------------------

_HOSTS = (
    "example.com", "ex.com:8080", "ex.com:80", "ex.com:443", "ex.com:65535", "ex.com:65536",
    "ex.com:0", "ex.com:080", "Ex.COM", "amp.ex.com", "host.", "u@ex.com", "[::1]",
    "127.0.0.1:33505",
)  # fmt: skip
_PATH_PARTS = ("/", "a", "amp", "AMP", ".amp", ".html", "?", "#", "&", "=", "utm_source", "é", "@",
               "[", "\\", " ", "\t", ";", "%20", "-", ".", "~")  # fmt: skip


def _random_urls(count: int) -> list[str]:
    rng = random.Random(7)
    urls = []
    for _ in range(count):
        scheme = rng.choice(("http", "https", "HTTP", "ftp"))
        path = "".join(rng.choice(_PATH_PARTS) for _ in range(rng.randint(0, 6)))
        slash = "/" if rng.random() < 0.8 else ""
        urls.append(f"{scheme}://{rng.choice(_HOSTS)}{slash}{path}")
    return urls


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:33505/feed3/3-0-rangers-beat-united",
        "https://www.example.com/world/story-1.html",
        "https://example.com/amp/story",  # not canonical: "amp" in the path
        "https://amp.example.com/story",  # not canonical: AMP host
        "http://example.com:80/a",  # not canonical: default port
        "https://example.com",  # not canonical: no path
        "https://Example.com/a",  # not canonical: upper-case host
    ],
)
def test_canonical_url_fast_path_matches_the_general_path(url: str) -> None:
    assert canonical_url(url) == _canonical_of(url)


def test_canonical_url_fast_path_matches_on_random_urls() -> None:
    for url in _random_urls(20_000):
        assert canonical_url(url) == _canonical_of(url.strip()), url


def test_links_skip_urljoin_only_when_it_changes_nothing() -> None:
    feed_url = "http://127.0.0.1:33505/feeds/3.xml"
    for url in _random_urls(20_000):
        try:
            expected = canonical_url(url, base=feed_url)
        except ValueError:
            continue  # urljoin rejects it (a bad IPv6 literal) either way
        assert canonical_url(url, base=_base_for(url, feed_url)) == expected, url


# --- dates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 14 May 2024 08:16:00 +0000", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("14 May 2024 08:16 +0530", datetime(2024, 5, 14, 2, 46, tzinfo=UTC)),
        ("Tue, 14 May 2024 08:16:00 GMT", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("Tue, 14 May 2024 23:16:00 -0500", datetime(2024, 5, 15, 4, 16, tzinfo=UTC)),
        # Not the fast path's: an offset of a day or more leaves the time local.
        ("Tue, 14 May 2024 08:16:00 +2400", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        # Not the fast path's: the general reader takes " H" for "Uhr" and "ST" as unknown.
        ("Tue, 14 May 2024 08:16:00 HST", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("Tue, 31 Feb 2024 08:16:00 +0000", None),
        ("Tue, 14 May 0001 08:16:00 +0000", datetime(2001, 5, 14, 8, 16, tzinfo=UTC)),
    ],
)
def test_rfc822_dates_parse_as_before(raw: str, expected: datetime | None) -> None:
    assert dates.parse_date(raw) == expected


def test_rfc822_fast_reader_agrees_with_the_textual_reader() -> None:
    rng = random.Random(11)
    days, months = ("1", "07", "14", "31", "32"), ("Jan", "Feb", "May", "Dec", "Mag", "Xyz")
    zones = ("+0000", "-0500", "+0530", "+2359", "-0060", "GMT", "UTC", "UT", "Z")
    for _ in range(5_000):
        text = (
            f"{rng.choice(('', 'Tue, ', 'Sun, '))}{rng.choice(days)} {rng.choice(months)} "
            f"{rng.choice(('2024', '1969', '2201', '1999'))} "
            f"{rng.choice(('00', '08', '23', '24'))}:"
            f"{rng.choice(('00', '59', '60'))}{rng.choice(('', ':00', ':59'))} {rng.choice(zones)}"
        )
        fast = dates._parse_rfc822_common(text)
        if fast is not None:
            assert fast == dates._parse_textual(text), text


# --- signatures, topics, small helpers ----------------------------------------------


def test_signature_text_is_to_text() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        names = sorted(
            {rng.choice("abcdefgh") * rng.randint(1, 6) for _ in range(rng.randint(0, 5))}
        )
        shingles = sorted({rng.randrange(1 << 24) for _ in range(rng.randint(0, 64))})
        expected = f"s1|{' '.join(names)}|" + ("%06x" * len(shingles)) % tuple(shingles)
        assert signature_text(names, shingles) == expected


def test_signature_parts_are_the_signature_sorted() -> None:
    headline = "Russia, Japan Agree To Speed Up Talks"
    lead = "TOKYO (Reuters) - Japanese PM Shinzo Abe met Vladimir Putin in Singapore on Thursday."
    names, shingles = signature_parts(headline, lead)
    story = signature(headline, lead)
    assert names == sorted(story.names) and shingles == sorted(story.shingles)
    assert signature_text(names, shingles) == story.to_text()


_TOKEN_PARTS = ("U.S.", "e.g.", "A.B", "x.Y", "3.5", ". ", "Notre-Dame", "-", "'", "'s", "&", "_",
                "Putin", "abe", " ", "\t", "!", "?", "…", "é", "’", "ß", "İ", "9")  # fmt: skip


def _random_texts(count: int, ascii_only: bool) -> list[str]:
    rng = random.Random(11)
    parts = [p for p in _TOKEN_PARTS if p.isascii()] if ascii_only else list(_TOKEN_PARTS)
    return ["".join(rng.choice(parts) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def test_ascii_tokens_are_the_unicode_patterns_tokens() -> None:
    for text in _random_texts(5_000, ascii_only=True):
        assert _ASCII_TOKEN_RE.findall(text) == _TOKEN_RE.findall(text)


def test_acronyms_are_undotted_only_where_the_general_pattern_finds_one() -> None:
    for text in _random_texts(5_000, ascii_only=False):
        assert _undot_acronyms(text) == _ACRONYM_DOTS_RE.sub(_undot, text)


def _token_before_by_walking(text: str, end: int) -> str:
    start = end
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    return text[start:end]


def test_token_before_a_dot_is_the_run_back_to_a_space_or_quote() -> None:
    for text in [*_random_texts(3_000, ascii_only=False), "Mr. Abe", "(J. Doe", "“U.S. x", ""]:
        for end in range(len(text) + 1):
            assert _token_before(text, end) == _token_before_by_walking(text, end)


def test_topic_matchers_classify_like_classify() -> None:
    topics = [
        TopicConfig(id="world", name="World", aliases=["International"]),
        TopicConfig(id="science", name="Science & Tech", keywords=["space station"]),
        TopicConfig(id="sport", name="Sports"),
    ]
    drafts = [
        ArticleDraft(headline="h", url="https://e.x/world/1", summary="s", categories=("Sport",)),
        ArticleDraft(headline="New space station", url="https://e.x/a", summary="", categories=()),
        ArticleDraft(headline="h", url="https://e.x/b", summary="s", categories=("International",)),
        ArticleDraft(headline="h", url="https://e.x/c", summary="s", categories=()),
    ]
    matchers = topic_matchers(topics)
    for draft in drafts:
        expected = classify(draft, source_topics=("news",), topics=topics)
        assert classify_with(draft, source_topics=("news",), matchers=matchers) == expected


def test_fix_uri_is_feedparsers_substitution() -> None:
    rng = random.Random(3)
    parts = ("http", "://", "/", "//", "a", "+", "-", ".", ",", "1", ":", "é", " ")
    for _ in range(10_000):
        value = "".join(rng.choice(parts) for _ in range(rng.randint(0, 10)))
        assert _fix_uri(value) == _URI_FIXER_RE.sub(r"\1\3", value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Plain   headline\n", "Plain headline"),
        ("A &amp; B", "A & B"),
        ("<b>Bold</b> move", "Bold move"),
        ("\u200bZero width", "Zero width"),
    ],
)
def test_clean_headline(raw: str, expected: str) -> None:
    assert clean_headline(raw) == expected


def test_split_sentences_reads_the_next_sentence_start() -> None:
    text = 'He said so. "Next one." approx. five (more) here! (Then) this. the end'
    assert split_sentences(text) == ["He said so.", '"Next one." approx. five (more) here!',
                                     "(Then) this. the end"]  # fmt: skip
    assert re.sub(r"\s+", " ", " ".join(split_sentences(text))) == text
