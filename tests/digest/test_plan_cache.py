"""The planner's per-call memos: a bounded LRU and the batch's candidate pool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest.plan_cache import LRU, CallCaches, CandidatePool
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


def test_lru_counts_hits_and_misses() -> None:
    cache: LRU[str, int] = LRU(max_size=4)
    assert cache.get("a") is None
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_lru_evicts_the_least_recently_used() -> None:
    cache: LRU[str, int] = LRU(max_size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")  # "b" is now the oldest
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_call_caches_do_not_share_their_maps() -> None:
    first, second = CallCaches(), CallCaches()
    first.slots[(NOW, ("08:00",), "UTC")] = None
    assert second.slots == {}
    assert first.plans is not second.plans
    assert first.renders is not second.renders


def test_candidate_pool_keeps_articles_fetched_at_or_after_the_moment() -> None:
    pool = CandidatePool([fetched(1, 3), fetched(2, 2), fetched(3, 1)])
    cutoff = NOW - timedelta(hours=2)
    assert [a.id for a in pool.since(cutoff)] == [2, 3]
    assert pool.since(cutoff) is pool.since(cutoff)  # memoised per moment
    assert pool.since(NOW) == ()
