"""The pure rules of adding a feed: reading the URL, the reasons shown, the rate limit."""

from __future__ import annotations

import pytest

from bot.chat.feed_adder import RateLimit, failure_reason, read_url
from bot.errors import (
    BodyTooLarge,
    FetchConnectionError,
    FetchError,
    FetchRefused,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
)
from bot.sources.discovery import NoFeedFound


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("https://blog.example/feed.xml", "https://blog.example/feed.xml"),
        ("<https://Blog.Example/feed>", "https://blog.example/feed"),
        ("blog.example/feed", "https://blog.example/feed"),
        ("http://blog.example", "http://blog.example"),
    ],
)
def test_read_url_accepts_web_links(typed: str, url: str) -> None:
    assert read_url(typed) == (url, None)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("file:///etc/passwd", "only http:// and https:// links can be added"),
        ("ftp://ftp.example/x", "only http:// and https:// links can be added"),
        ("javascript:alert(1)", "only http:// and https:// links can be added"),
        ("gopher://x.example/", "only http:// and https:// links can be added"),
        ("https://me:pw@blog.example/", "links with a user name or password are not accepted"),
        ("https://" + "a" * 3000, "the link is longer than 2048 characters"),
        ("", "there is no link"),
    ],
)
def test_read_url_refuses_without_fetching(typed: str, reason: str) -> None:
    assert read_url(typed)[1] == reason


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            FetchRefused(
                "http://x/: refused: 10.0.0.1 is a private address; list the host in fetch..."
            ),
            "that address is not on the public internet (10.0.0.1 is a private address)",
        ),
        (
            FetchRefused("http://x/: redirect to http://y/: refused: ::1 is a loopback address"),
            "it redirects to an address I may not fetch (::1 is a loopback address)",
        ),
        (HTTPStatusError(410, "http://x/"), "the site answered with HTTP 410"),
        (FetchTimeout("http://x/: slow"), "the site did not answer in time"),
        (BodyTooLarge("http://x/: big"), "the page is too large"),
        (FetchConnectionError("http://x/: refused"), "I could not connect to the site"),
        (NoFeedFound("http://x/"), "I found no RSS, Atom or JSON feed on that page"),
        (ParseError("HTML page"), "that is not an RSS, Atom or JSON feed"),
        (FetchError("http://x/: TooManyRedirects: ..."), "it redirects too many times (at most 5)"),
    ],
)
def test_failure_reasons_are_one_line_for_the_user(error: FetchError, reason: str) -> None:
    assert failure_reason(error) == reason


def test_rate_limit_counts_per_chat_within_its_window() -> None:
    now = [1000.0]
    limit = RateLimit(2, window_seconds=60, now=lambda: now[0])

    assert limit.wait_seconds(1) == 0
    assert limit.wait_seconds(1) == 0
    assert limit.wait_seconds(2) == 0  # another chat has its own count
    now[0] += 20
    assert limit.wait_seconds(1) == pytest.approx(40)
    now[0] += 40
    assert limit.wait_seconds(1) == 0
