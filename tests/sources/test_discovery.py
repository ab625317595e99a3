"""Finding a feed from a page: the alternate links and the usual paths (pure parts)."""

from __future__ import annotations

from bot.sources.discovery import COMMON_PATHS, candidates, feed_links, is_html
from bot.sources.fetcher import FetchResult

PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.rss">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
<link rel="alternate" type="application/feed+json" href="https://cdn.example/feed.json">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="/feed.rss">
</head><body><a rel="alternate" type="application/rss+xml" href="/not-a-link-tag">x</a></body>
</html>"""


def fetched(body: bytes, content_type: str | None) -> FetchResult:
    return FetchResult("ok", "https://blog.example/", body, content_type, None, None, None)


def test_feed_links_are_the_alternate_feed_types_made_absolute_in_page_order() -> None:
    assert feed_links(PAGE, "https://blog.example/posts/") == [
        "https://blog.example/feed.rss",
        "https://blog.example/posts/atom.xml",
        "https://cdn.example/feed.json",
    ]


def test_candidates_try_links_then_usual_paths_beside_the_page_then_at_the_root() -> None:
    found = candidates(PAGE.encode(), "https://blog.example/posts/")

    assert found[:3] == feed_links(PAGE, "https://blog.example/posts/")
    assert found[3] == "https://blog.example/posts/feed"
    assert "https://blog.example/feed" in found
    assert len(found) == 3 + 2 * len(COMMON_PATHS) - 1  # /feed.rss is not a usual path twice


def test_is_html_by_type_or_by_its_first_bytes() -> None:
    assert is_html(fetched(b"...", "text/html; charset=utf-8"))
    assert is_html(fetched(b"  <!DOCTYPE html><html>", None))
    assert not is_html(fetched(b"<rss version='2.0'>", "application/xml"))
    assert not is_html(fetched(b"plain notes", "text/plain"))
