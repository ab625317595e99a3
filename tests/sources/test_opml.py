"""OPML in and out: a reader's export, the round trip, and hostile files refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources.opml import MAX_OUTLINES, OpmlError, OpmlFeed, parse_opml, render_opml

CREATED = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_a_feed_readers_export_gives_its_feeds_with_their_folders(data_dir: Path) -> None:
    feeds = parse_opml((data_dir / "opml" / "reader_export.opml").read_bytes())

    assert feeds == [
        OpmlFeed("https://loose.example/feed.xml", "Loose Blog", ""),
        OpmlFeed("https://gadgets.example/rss", "Gadget Weekly & Co", "Tech"),
        OpmlFeed("https://kernel.example/atom.xml", "Kernel notes", "Tech"),  # once
        OpmlFeed("https://bread.example/feed", "Bread", "Cooking"),
        OpmlFeed("https://tagged.example/feed", "Tagged", "Science"),
    ]


def test_round_trip_keeps_urls_titles_and_categories() -> None:
    feeds = [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'Quotes "and" <tags>', ""),
        OpmlFeed("https://b.example/rss", "B", "World news"),
        OpmlFeed("https://c.example/rss", "C\u202e reversed", "World news"),
    ]

    again = parse_opml(render_opml("My feeds", feeds, created=CREATED))

    assert again == [
        feeds[0],
        feeds[1],
        OpmlFeed("https://c.example/rss", "C reversed", "World news"),  # bidi override gone
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://x.example/"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "it declares a DOCTYPE"),
        (EXTERNAL_ENTITY, "it declares a DOCTYPE"),
        (b"<opml><body><outline xmlUrl='https://x.example/'>", "not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n binary", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "it is not an OPML file"),
        (
            b"<opml><body>" + b"<outline text='x'>" * 17 + b"</outline>" * 17 + b"</body></opml>",
            "nested more than 16 deep",
        ),
    ],
)
def test_hostile_and_broken_files_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(OpmlError, match=reason):
        parse_opml(data)


def test_fifty_thousand_outlines_are_refused_without_reading_them_all() -> None:
    outline = b"<outline text='f' xmlUrl='https://x.example/%d'/>"
    body = b"".join(outline.replace(b"%d", str(n).encode()) for n in range(50_000))

    with pytest.raises(OpmlError, match=f"more than {MAX_OUTLINES} outlines"):
        parse_opml(b"<opml version='2.0'><body>" + body + b"</body></opml>")
