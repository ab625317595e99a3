"""The operator's texts: pure functions of store values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chat import operator_texts
from bot.store.records import Source

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def source(name: str, errors: int = 0, error: str | None = None) -> Source:
    return Source(
        id=abs(hash(name)) % 10_000,
        name=name,
        url="https://news.example/feed",
        kind="feed",
        etag=None,
        last_modified=None,
        next_poll_at=NOW,
        error_count=errors,
        last_error=error,
        last_success_at=NOW - timedelta(hours=3) if errors else NOW,
        last_polled_at=NOW - timedelta(minutes=4),
        redirect_url=None,
    )


def test_failing_sources_first_most_failures_first() -> None:
    text = operator_texts.sources_health(
        [source("alpha"), source("beta", 2, "HTTP 500"), source("gamma", 9, "timed out")], NOW
    )

    assert text.splitlines() == [
        "<b>Sources:</b> 3, 2 failing",
        "❌ <b>gamma</b>: 9 failed in a row, last success 3 h ago: timed out",
        "❌ <b>beta</b>: 2 failed in a row, last success 3 h ago: HTTP 500",
        "✅ <b>alpha</b>: ok, polled 4 min ago",
    ]


def test_names_and_errors_from_outside_are_escaped_and_shortened() -> None:
    error = "<b>bad</b> & \u202eevil " + "x" * 500
    line = operator_texts.sources_health([source("<i>Wire</i>", 1, error)], NOW).splitlines()[1]

    assert "&lt;i&gt;Wire&lt;/i&gt;" in line
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; evil" in line
    assert "\u202e" not in line
    assert line.endswith("…") and len(line) < 320


def test_a_long_list_is_cut_with_a_pointer_to_the_rest() -> None:
    many = [source(f"wire {n:02}") for n in range(45)]
    lines = operator_texts.sources_health(many, NOW).splitlines()

    assert len(lines) == 1 + operator_texts.MAX_SOURCE_LINES + 1
    assert lines[-1] == "… and 15 more (newsbot sources lists all)"


def test_announcement_is_the_operators_words_as_plain_text() -> None:
    body = operator_texts.announcement("  Upgrade <tonight> & tomorrow\n\u202eSee you  ")

    assert body == "Upgrade &lt;tonight&gt; &amp; tomorrow\nSee you"
    assert operator_texts.announce_preview(body, 1).startswith(
        "<b>Preview</b>: this goes to 1 chat."
    )
