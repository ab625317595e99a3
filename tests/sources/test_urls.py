"""Canonical URLs: tracking, fragments, default ports and AMP variants removed."""

from __future__ import annotations

import pytest

from bot.sources.urls import canonical_url, is_http_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443/News/A?id=1#top", "https://www.example.com/News/A?id=1"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x&id=171",
            "https://example.com/a?id=171",
        ),
        (
            "https://example.com/a?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&mc_eid=6",
            "https://example.com/a",
        ),
        ("https://example.com/a?igshid=1&yclid=2&_ga=3&cmpid=4&ito=5", "https://example.com/a"),
        ("https://example.com/a?at_medium=rss&at_campaign=x&p=2", "https://example.com/a?p=2"),
        ("https://example.com/a?ref=rss&ref_src=twsrc%5Etfw", "https://example.com/a"),
        ("https://example.com/a?ref=12345", "https://example.com/a?ref=12345"),
        (
            "https://www.newindianexpress.com/World/rssfeed/?id=171&getXmlFeed=true",
            "https://www.newindianexpress.com/World/rssfeed/?id=171&getXmlFeed=true",
        ),
        ("https://example.com/a?q=a%20b+c&page=2", "https://example.com/a?q=a%20b+c&page=2"),
    ],
)
def test_canonical_url_drops_tracking_keeps_identity(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.bbc.co.uk/news/amp/world-123", "https://www.bbc.co.uk/news/world-123"),
        ("https://example.com/2023/01/slug/amp/", "https://example.com/2023/01/slug/"),
        ("https://example.com/story/amp", "https://example.com/story"),
        ("https://example.com/story.amp.html", "https://example.com/story.html"),
        ("https://example.com/story?amp=1&page=2", "https://example.com/story?page=2"),
        ("https://example.com/story?amp", "https://example.com/story"),
        ("https://example.com/story?outputType=amp", "https://example.com/story"),
        ("https://amp.theguardian.com/world/2023/x", "https://www.theguardian.com/world/2023/x"),
        ("https://example.com/amplifier/review", "https://example.com/amplifier/review"),
    ],
)
def test_canonical_url_turns_amp_into_normal_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_resolves_relative_to_base() -> None:
    base = "https://Example.com/World/rssfeed/?id=171"
    assert canonical_url("/world/story-1.html?utm_source=rss", base) == (
        "https://example.com/world/story-1.html"
    )
    assert canonical_url("story-2.html", base) == "https://example.com/World/rssfeed/story-2.html"
    assert canonical_url("//cdn.example.com/x", base) == "https://cdn.example.com/x"


def test_canonical_url_leaves_non_http_values_alone() -> None:
    assert canonical_url(" urn:uuid:1234 ") == "urn:uuid:1234"
    assert canonical_url("http://[::1:bad") == "http://[::1:bad"


def test_is_http_url() -> None:
    assert is_http_url("https://example.com/a")
    assert not is_http_url("tag:example.com,2023:1")
    assert not is_http_url("/relative/path")
    assert not is_http_url(None)
