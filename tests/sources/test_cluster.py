"""Same story from several outlets: signatures, the same-story rule and the grouper,
on hand-made real-world pairs.

``data/clusters/same_story.json`` holds pairs of one story told by two outlets
(wire vs newspaper wording); ``different_story.json`` holds different stories,
most with the same headline template ("Stocks rise as Fed holds rates" vs
"Stocks fall as ECB cuts rates").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sources.article_files import parse_text_article
from bot.sources.cluster import (
    DIFFERENT_STORY_MAX,
    GROUPING_WINDOW,
    SAME_STORY_MIN,
    StoryGrouper,
    is_same_story,
    name_overlap,
    story_similarity,
)
from bot.sources.drafts import ArticleDraft
from bot.sources.story_signature import StorySignature, signature, signature_of
from bot.store import Store
from bot.store.articles import ArticleInput, RecentSignature, StoredItem
from tests.conftest import DATA_DIR

CLUSTERS = DATA_DIR / "clusters"


def load_pairs(name: str) -> list[Any]:
    pairs = json.loads((CLUSTERS / f"{name}.json").read_text("utf-8"))
    return [pytest.param(p["a"], p["b"], id=p["note"]) for p in pairs]


def pairs(name: str) -> list[dict[str, Any]]:
    return json.loads((CLUSTERS / name).read_text("utf-8"))


SAME = load_pairs("same_story")
DIFFERENT = load_pairs("different_story")


def sig(side: dict[str, str]) -> StorySignature:
    return signature(side["headline"], side["lead"])


def test_fixture_set_is_big_enough() -> None:
    assert len(SAME) >= 8
    assert len(DIFFERENT) >= 8


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_story_pairs_merge(a: dict[str, str], b: dict[str, str]) -> None:
    assert is_same_story(sig(a), sig(b))
    assert is_same_story(sig(b), sig(a))  # symmetric
    assert story_similarity(sig(a), sig(b)) >= SAME_STORY_MIN


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_story_pairs_stay_apart(a: dict[str, str], b: dict[str, str]) -> None:
    assert not is_same_story(sig(a), sig(b))
    assert not is_same_story(sig(b), sig(a))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_stories_score_in_the_measured_low_band(
    a: dict[str, str], b: dict[str, str]
) -> None:
    assert name_overlap(sig(a), sig(b)) <= DIFFERENT_STORY_MAX


def test_same_template_headlines_alone_do_not_merge() -> None:
    a = signature("Stocks rise as Fed holds rates", "")
    b = signature("Stocks fall as ECB cuts rates", "")
    assert not is_same_story(a, b)


def test_the_brief_example_merges_on_headline_and_lead() -> None:
    a = signature(
        "Russia, Japan agree to speed up peace treaty talks",
        "Russian President Vladimir Putin and Japanese Prime Minister Shinzo Abe agreed on "
        "Wednesday to speed up talks on a peace treaty.",
    )
    b = signature(
        "Putin and Abe to accelerate talks on peace treaty, island dispute",
        "Japan's Shinzo Abe and Russia's Vladimir Putin will accelerate talks on a peace "
        "treaty, Abe told reporters in Singapore.",
    )
    assert is_same_story(a, b)


def test_a_story_is_the_same_as_itself() -> None:
    a = signature("Bolsonaro wins Brazil presidency", "Jair Bolsonaro won Brazil's election.")
    assert story_similarity(a, a) == 1.0


def test_stopwords_months_days_and_titles_are_not_proper_nouns() -> None:
    result = signature(
        "The Fed meets in December",
        "On Monday, The central bank said. A decision comes in January. "
        "President Donald Trump spoke on Wednesday.",
    )
    assert result.names == {"fed", "donald", "trump"}


def test_acronyms_and_multi_word_names_at_sentence_start_count() -> None:
    result = signature(
        "Talks resume",
        "Shinzo Abe met Vladimir Putin. NATO said nothing. Officials were silent. "
        "The U.S. Federal Reserve held rates.",
    )
    assert {"shinzo", "abe", "vladimir", "putin", "nato", "us", "federal", "reserve"} <= (
        result.names
    )
    assert "officials" not in result.names
    assert "talks" not in result.names


def test_title_case_headline_needs_the_lead_to_confirm_names() -> None:
    sentence_case = signature(
        "Russia, Japan agree to speed up peace treaty talks",
        "Russian President Vladimir Putin met Japan's Shinzo Abe in Singapore.",
    )
    title_case = signature(
        "Russia, Japan Agree To Speed Up Peace Treaty Talks",
        "Russian President Vladimir Putin met Japan's Shinzo Abe in Singapore.",
    )
    assert {"agree", "speed", "peace", "treaty", "talks"}.isdisjoint(title_case.names)
    assert {"russia", "japan", "putin", "abe"} <= title_case.names
    assert title_case.names == sentence_case.names


def test_demonyms_match_their_country() -> None:
    a = signature("Talks held", "Officials from Russia met envoys from China and Iran.")
    b = signature("Talks held", "On Monday, Russian officials met Chinese and Iranian envoys.")
    assert name_overlap(a, b) == 1.0


def test_signature_round_trips_through_text() -> None:
    a = signature(
        "Saudi Arabia admits Jamal Khashoggi died in Istanbul consulate",
        "Saudi Arabia said on Saturday that journalist Jamal Khashoggi died in a fight.",
    )
    text = a.to_text()
    assert StorySignature.from_text(text) == a
    assert "\n" not in text
    assert len(text) < 500


def test_signature_read_from_text_has_the_same_names_shingles_and_hash() -> None:
    a = signature("Russia and Japan agree", "Shinzo Abe and Vladimir Putin met in Singapore.")
    read = StorySignature.from_text(a.to_text())
    assert read.names == a.names
    assert read.shingles == a.shingles
    assert hash(read) == hash(a)
    assert {read: 1}[a] == 1


def test_shingles_decode_every_24_bit_value() -> None:
    values = frozenset({0, 1, 0xABCDEF, 0xFFFFFF, 0x800000, 0x00FF00})
    text = StorySignature(frozenset({"x"}), values).to_text()
    assert StorySignature.from_text(text).shingles == values


@pytest.mark.parametrize(
    "junk",
    ["", "x", "s1|a b", "s2|a|000000", "s1|a|00000", "s1|a|zzzzzz", "s1|a|0000 0", "s1|a|+00000"],
)
def test_from_text_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        StorySignature.from_text(junk)


def test_empty_signatures_are_never_the_same_story() -> None:
    empty = signature("", "")
    assert empty.names == frozenset()
    assert not is_same_story(empty, empty)


def test_drafts_can_be_compared_directly() -> None:
    a = ArticleDraft(
        headline="Djokovic beats Nadal to win seventh Australian Open title",
        url="https://a.example/1",
        summary="",
        lead="Novak Djokovic crushed Rafael Nadal in the Australian Open final in Melbourne.",
    )
    b = ArticleDraft(
        headline="Novak Djokovic routs Rafael Nadal in Melbourne final",
        url="https://b.example/2",
        summary="Novak Djokovic beat Rafael Nadal to win the Australian Open for a seventh time.",
    )
    assert is_same_story(a, b)


def test_seed_tnie_story_merges_with_wire_versions_only() -> None:
    seed = DATA_DIR / "articles"
    text = (seed / "tnie-world-2018-11-15-russia-japan.txt").read_text("utf-8")
    tnie = signature_of(parse_text_article(text, url="https://www.newindianexpress.com/a"))
    pairs = json.loads((CLUSTERS / "same_story.json").read_text("utf-8"))
    reuters, ap = pairs[0]["a"], pairs[0]["b"]
    drills = json.loads((CLUSTERS / "different_story.json").read_text("utf-8"))[3]["b"]
    assert is_same_story(tnie, sig(reuters))
    assert is_same_story(tnie, sig(ap))
    assert not is_same_story(tnie, sig(drills))


# --- story grouping -------------------------------------------------------------------


FETCHED_AT = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)


def stored(article_id: int, story: dict[str, str], *, status: str = "new") -> StoredItem:
    item = ArticleInput(
        url=f"https://news.example/{article_id}",
        headline=story["headline"],
        summary=story["lead"],
        published_at=FETCHED_AT,
        topics=("world",),
        signature=signature(story["headline"], story["lead"]).to_text(),
    )
    return StoredItem(article_id, status, item)


def assign(grouper: StoryGrouper, items: list[StoredItem], *, source_id: int) -> dict[int, int]:
    """``grouper.assign`` with each item's signature parsed, as ingestion hands it over."""
    signatures = {i.input.url: StorySignature.from_text(i.input.signature) for i in items}
    return grouper.assign(items, signatures=signatures, source_id=source_id)


@pytest.mark.parametrize("pair", pairs("same_story.json"), ids=lambda p: p["note"][:30])
def test_grouper_joins_the_same_story_from_another_source(pair: dict) -> None:
    grouper = StoryGrouper()
    assert assign(grouper, [stored(1, pair["a"])], source_id=1) == {}
    assert assign(grouper, [stored(2, pair["b"])], source_id=2) == {2: 1}


@pytest.mark.parametrize("pair", pairs("different_story.json"), ids=lambda p: p["note"][:30])
def test_grouper_keeps_different_stories_apart(pair: dict) -> None:
    grouper = StoryGrouper()
    assign(grouper, [stored(1, pair["a"])], source_id=1)
    assert assign(grouper, [stored(2, pair["b"])], source_id=2) == {}


def test_grouper_never_merges_within_one_source_and_skips_updates() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper()
    assert assign(grouper, [stored(1, pair["a"]), stored(2, pair["b"])], source_id=1) == {}
    assert assign(grouper, [stored(3, pair["b"], status="updated")], source_id=2) == {}
    assert len(grouper) == 2


def test_grouper_joins_the_earlier_cluster_transitively() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper(
        [RecentSignature(7, 5, 9, signature(pair["a"]["headline"], pair["a"]["lead"]).to_text())]
    )
    assert assign(grouper, [stored(20, pair["b"])], source_id=1) == {20: 5}
    assert assign(grouper, [stored(21, pair["a"])], source_id=2) == {21: 5}


def test_grouper_ignores_items_older_than_the_window_and_unreadable_signatures() -> None:
    pair = pairs("same_story.json")[0]
    since = FETCHED_AT + timedelta(minutes=1)  # every stored() item is older than this
    grouper = StoryGrouper([RecentSignature(1, 1, 1, "garbage|x")], since=since)
    assert len(grouper) == 0
    assign(grouper, [stored(2, pair["a"])], source_id=2)
    assert len(grouper) == 0


def test_grouper_work_per_article_is_bounded_on_a_crowded_index() -> None:
    """5,000 recent articles about the same two countries: each new one still finds its story."""
    crowd = [RecentSignature(i, i, i % 50, f"s1|japan russia|{i:06x}") for i in range(1, 5001)]
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper(crowd)
    assign(grouper, [stored(6000, pair["a"])], source_id=100)
    assert assign(grouper, [stored(6001, pair["b"])], source_id=101) == {6001: 6000}


async def test_grouper_loads_recent_signatures_from_the_store(store: Store) -> None:
    pair = pairs("same_story.json")[0]
    [source] = await store.sources.sync([("Wire", "https://wire.example/feed", "feed")])
    [first] = await store.articles.store(source.id, [stored(0, pair["a"]).input], FETCHED_AT)
    grouper = await StoryGrouper.load(store.articles, FETCHED_AT + GROUPING_WINDOW / 2)
    assert len(grouper) == 1
    assert assign(grouper, [stored(first.article_id + 1, pair["b"])], source_id=source.id + 1) == {
        first.article_id + 1: first.article_id
    }
    expired = await StoryGrouper.load(store.articles, FETCHED_AT + GROUPING_WINDOW * 2)
    assert len(expired) == 0
