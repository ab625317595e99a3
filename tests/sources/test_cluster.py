"""Same story from several outlets: signatures, the same-story rule and the grouper,
on hand-made real-world pairs.

``data/clusters/same_story.json`` holds pairs of one story told by two outlets
(wire vs newspaper wording) that the rule joins; ``different_story.json`` holds
different stories, most with the same headline template ("Stocks rise as Fed
holds rates" vs "Stocks fall as ECB cuts rates"). The rule's precision and
recall over the larger labelled set are tested in test_grouping_labelled.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sources.article_files import parse_text_article
from bot.sources.cluster import (
    GROUPING_WINDOW,
    StoryGrouper,
    evidence,
    is_same_story,
    name_overlap,
    wording_similarity,
)
from bot.sources.drafts import ArticleDraft
from bot.sources.story_signature import StorySignature, signature, signature_of
from bot.store import Store
from bot.store.articles import ArticleInput, RecentSignature, StoredItem
from tests.conftest import DATA_DIR

CLUSTERS = DATA_DIR / "clusters"
DIFFERENT_STORY_NAMES_MAX = 0.15  # measured name overlap of different stories (field notes)


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
    assert evidence(sig(a), sig(b)) == evidence(sig(b), sig(a))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_story_pairs_stay_apart(a: dict[str, str], b: dict[str, str]) -> None:
    assert not is_same_story(sig(a), sig(b))
    assert not is_same_story(sig(b), sig(a))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_stories_score_in_the_measured_low_band(
    a: dict[str, str], b: dict[str, str]
) -> None:
    assert name_overlap(sig(a), sig(b)) <= DIFFERENT_STORY_NAMES_MAX


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
    found = evidence(a, a)
    assert (found.wording, found.names) == (1.0, 1.0)
    assert is_same_story(a, a)


BAY_OF_BENGAL_SCIENCE = signature(
    "New cyclone model cuts Bay of Bengal track errors by a fifth",
    "The model, tested on storms over the Bay of Bengal, improved forecasts of where "
    "cyclones make landfall by a fifth.",
)
BAY_OF_BENGAL_WORLD = signature(
    "Ministers agree on monsoon trade corridors",
    "Ministers from eleven countries signed a corridor agreement on Tuesday to keep "
    "shipping moving across the Bay of Bengal region.",
)


def test_a_shared_place_alone_never_makes_the_same_story() -> None:
    found = evidence(BAY_OF_BENGAL_SCIENCE, BAY_OF_BENGAL_WORLD)
    assert found.names == 1.0  # "bay", "bengal": the only names on either side
    assert found.wording < 0.1
    assert not is_same_story(BAY_OF_BENGAL_SCIENCE, BAY_OF_BENGAL_WORLD)


def test_across_topics_the_rule_asks_for_much_more() -> None:
    pair = pairs("same_story.json")[0]  # Putin-Abe: a clear same story
    a, b = sig(pair["a"]), sig(pair["b"])
    assert is_same_story(a, b, topic_in_common=True)
    weaker = pairs("same_story.json")[1]  # Fed decision: same story, less shared wording
    c, d = sig(weaker["a"]), sig(weaker["b"])
    assert is_same_story(c, d, topic_in_common=True)
    assert not is_same_story(c, d, topic_in_common=False)


def test_wording_similarity_is_the_jaccard_of_whole_shingle_sets() -> None:
    a = StorySignature(frozenset(), frozenset({1, 2, 3, 4}))
    b = StorySignature(frozenset(), frozenset({3, 4, 5, 6}))
    assert wording_similarity(a, b) == 2 / 6
    assert wording_similarity(a, StorySignature(frozenset(), frozenset())) == 0.0


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
    [
        "",
        "x",
        "s1|a b",
        "s2|a|000000",
        "s1|a|00000",
        "s1|a|zzzzzz",
        "s1|a|0000 0",
        "s1|a|+00000",
        "s1|a|000000|world,,x",
        "s1|a|000000|a b",
    ],
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
    assert not is_same_story(tnie, sig(drills))
    grouper = StoryGrouper()  # AP's wording is further from TNIE's: joined through Reuters
    assign(grouper, [stored(1, reuters)], source_id=1)
    assign(grouper, [stored(2, ap)], source_id=2)
    tnie_item = stored(3, reuters)
    signatures = {tnie_item.input.url: tnie}
    assert grouper.assign([tnie_item], signatures=signatures, source_id=3) == {3: 1}


# --- story grouping -------------------------------------------------------------------


FETCHED_AT = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)


def stored(
    article_id: int,
    story: dict[str, str],
    *,
    status: str = "new",
    topics: tuple[str, ...] = ("world",),
    published_at: datetime = FETCHED_AT,
) -> StoredItem:
    item = ArticleInput(
        url=f"https://news.example/{article_id}",
        headline=story["headline"],
        summary=story["lead"],
        published_at=published_at,
        topics=topics,
        signature=with_topics(signature(story["headline"], story["lead"]), topics).to_text(),
    )
    return StoredItem(article_id, status, item)


def with_topics(story: StorySignature, topics: tuple[str, ...]) -> StorySignature:
    return StorySignature(story.names, story.shingles, frozenset(topics))


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


def test_grouper_keeps_a_place_alone_apart_across_topics() -> None:
    grouper = StoryGrouper()
    for article_id, story, topic in [
        (1, BAY_OF_BENGAL_SCIENCE, "science"),
        (2, BAY_OF_BENGAL_WORLD, "world"),
    ]:
        item = stored(article_id, {"headline": "", "lead": ""}, topics=(topic,))
        signatures = {item.input.url: story}  # the item's text is not read: its signature is
        assert grouper.assign([item], signatures=signatures, source_id=article_id) == {}
    assert len(grouper) == 2


def test_grouper_joins_only_within_the_window_of_publish_times() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper()
    assign(grouper, [stored(1, pair["a"])], source_id=1)
    later = FETCHED_AT + GROUPING_WINDOW + timedelta(hours=1)
    assert assign(grouper, [stored(2, pair["b"], published_at=later)], source_id=2) == {}
    assert assign(grouper, [stored(3, pair["b"])], source_id=3) == {3: 1}


def test_grouper_asks_more_across_topics_read_from_the_signature_too() -> None:
    weaker = pairs("same_story.json")[1]  # Fed decision
    grouper = StoryGrouper()
    assign(grouper, [stored(1, weaker["a"], topics=("business",))], source_id=1)
    assert assign(grouper, [stored(2, weaker["b"], topics=("world",))], source_id=2) == {}
    same_topic = StoryGrouper()
    assign(same_topic, [stored(1, weaker["a"], topics=("business",))], source_id=1)
    assert assign(same_topic, [stored(2, weaker["b"], topics=("business",))], source_id=2) == {2: 1}
    read_back = StoryGrouper([RecentSignature(1, 1, 1, stored(1, weaker["a"]).input.signature)])
    assert assign(read_back, [stored(2, weaker["b"], topics=("world",))], source_id=2) == {2: 1}
    unknown = StoryGrouper([RecentSignature(1, 1, 1, sig(weaker["a"]).to_text())])  # no topics
    assert assign(unknown, [stored(2, weaker["b"], topics=("world",))], source_id=2) == {2: 1}


def test_signature_carries_topics_through_text_and_reads_older_text() -> None:
    story = with_topics(sig(pairs("same_story.json")[0]["a"]), ("world", "india"))
    assert StorySignature.from_text(story.to_text()).topics == {"world", "india"}
    no_topics = StorySignature(story.names, story.shingles)
    assert StorySignature.from_text(no_topics.to_text()).topics is None
    assert StorySignature.from_text("s1|a|000000|").topics == frozenset()


def test_grouper_never_merges_within_one_source_and_skips_updates() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper()
    assert assign(grouper, [stored(1, pair["a"]), stored(2, pair["b"])], source_id=1) == {}
    assert assign(grouper, [stored(3, pair["b"], status="updated")], source_id=2) == {}
    assert len(grouper) == 2


def test_grouper_joins_the_earlier_cluster_transitively() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper([RecentSignature(7, 5, 9, stored(7, pair["a"]).input.signature)])
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
