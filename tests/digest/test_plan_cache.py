"""The planner's per-call memo and the candidates' time cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest import plan_cache
from bot.digest.plan_cache import DigestKey, PlanMemo, Rendered, fetched_since
from bot.store.records import Article

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def fetched(id: int, hours_ago: float) -> Article:
    moment = NOW - timedelta(hours=hours_ago)
    return Article(
        id=id,
        source_id=1,
        source_name="Outlet",
        guid=None,
        url=f"https://outlet.example/{id}",
        headline=f"Story {id}",
        summary="",
        published_at=moment,
        fetched_at=moment,
        cluster_id=id,
        topics=("world",),
    )


def key(cursor: int = 0, timezone: str = "UTC", language: str = "en") -> DigestKey:
    return DigestKey(
        frozenset({"world"}), (), (), cursor, NOW, timezone, language, NOW, "Digest", 9
    )


def rendered(max_article_id: int) -> Rendered:
    return Rendered(parts=(), story_count=0, max_article_id=max_article_id)


def test_memo_makes_each_digest_once_per_key() -> None:
    memo = PlanMemo()
    first = memo.digest(key(), lambda: rendered(1))
    again = memo.digest(key(), lambda: rendered(2))
    other = memo.digest(key(timezone="Asia/Tokyo"), lambda: rendered(3))
    russian = memo.digest(key(language="ru"), lambda: rendered(4))
    assert first is again and other.max_article_id == 3
    assert russian.max_article_id == 4  # chats of another language never share a text
    assert (memo.lookups, memo.renders) == (4, 3)


def test_memo_stays_bounded_when_no_two_chats_are_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cache, "MEMO_LIMIT", 3)
    memo = PlanMemo()
    for cursor in range(10):
        memo.digest(key(cursor), lambda: rendered(0))
    assert len(memo.digests) <= 3 and memo.renders == 10


def test_memo_makes_each_schedule_once() -> None:
    memo = PlanMemo()
    slots = (NOW, NOW + timedelta(days=1))
    made = [memo.schedule((NOW, ("08:00",), "UTC"), lambda: slots) for _ in range(3)]
    assert made == [slots] * 3 and len(memo.slots) == 1


def test_fetched_since_keeps_articles_fetched_at_or_after_the_moment() -> None:
    articles = [fetched(1, 3), fetched(2, 2), fetched(3, 1)]
    assert [a.id for a in fetched_since(articles, NOW - timedelta(hours=2))] == [2, 3]
    assert fetched_since(articles, NOW) == ()
