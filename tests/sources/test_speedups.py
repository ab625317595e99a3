"""The compiled code (bot/sources/_speedups.c) gives what the Python rules give:
the same sentences (text.py), names and shingles (cluster.py) and story groups
(ingest.py) for every input.

``split_sentences_py``, ``names_and_shingles_py`` and ``StoryGrouper._assign_py``
are the specification; the C versions must agree with them on real feed items,
on hand-picked edge cases and on seeded random input.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sources import cluster, ingest
from bot.sources import text as text_module
from bot.sources.cluster import LEAD_CHARS, MAX_SHINGLES, names_and_shingles_py
from bot.sources.feeds import parse_feed
from bot.sources.ingest import SourceProfile, StoryGrouper, feed_items, prepare_feed_rows
from bot.sources.plaintext import parse_article_file
from bot.sources.text import html_to_text, remove_dateline, split_sentences, split_sentences_py
from bot.store.articles import ArticleInput, RecentSignature, StoredItem
from tests.fakes.news_site import make_items, render_feed

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
_compiled = cluster._compiled_names_and_shingles()
_compiled_split = text_module._compiled_split_sentences()


def _sentences(headline: str, text: str) -> list[str]:
    lead = cluster._undot_acronyms(remove_dateline(text.strip())[:LEAD_CHARS])
    return [cluster._undot_acronyms(headline), *split_sentences(lead)]


def _assert_same(sentences: list[str]) -> None:
    assert _compiled is not None
    assert _compiled(sentences) == names_and_shingles_py(sentences), sentences


def _assert_same_split(text: str) -> None:
    assert _compiled_split is not None
    assert _compiled_split(text) == split_sentences_py(text), text


def test_the_compiled_version_is_built_and_used() -> None:
    # pip install -e . builds it (it needs a C compiler); without it the Python rules serve.
    assert _compiled is not None, "bot.sources._speedups not built: reinstall with a C compiler"
    assert _compiled_split is not None
    assert cluster.COMPILED
    assert split_sentences is not split_sentences_py
    assert ingest._assign_stories is not None


def _feed_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted((FIXTURES / "feeds").iterdir()):
        parsed = parse_feed(path.read_bytes(), url=f"https://example.com/{path.name}",
                            fetched_at=datetime(2024, 5, 14, tzinfo=UTC), default_tz=UTC,
                            content_type=None)  # fmt: skip
        texts += [(d.headline, d.lead or d.summary) for d in parsed.items]
    seed = parse_article_file(
        FIXTURES / "tnie-world-2018-11-15-russia-japan.txt",
        base_url="file:///fixtures/",
        default_tz=UTC,
    )
    return [*texts, (seed.headline, seed.lead or seed.summary)]


def test_same_on_every_fixture_item() -> None:
    texts = _feed_texts()
    assert len(texts) >= 17
    for headline, text in texts:
        _assert_same(_sentences(headline, text))
        _assert_same_split(text)


def test_same_on_the_benchmark_site_items() -> None:
    for seed in range(50):
        for item in make_items(40, seed=seed, prefix=f"feed{seed}"):
            lead = html_to_text(item.summary)
            _assert_same(_sentences(item.title, lead))
            _assert_same_split(lead)


@pytest.mark.parametrize(
    "sentences",
    [
        [""],
        ["Russia, Japan Agree To Speed Up Talks"],  # title case, nothing to confirm with
        ["RUSSIA JAPAN AGREE TO SPEED UP TALKS", "Russian leaders met Japanese envoys."],
        ["Putin's visit", "Russia's and Iran's talks: Iranian officials' views."],
        ["rock'n'roll's day", "It's the fans’ show's ‘end’ ’s x'' y's'"],
        ["Notre-Dame re-opens", "Jean-Luc Picard and co-op A-B -- C--D -E F-"],
        ["snake_case _under __init__", "A_b _B c_ _"],
        ["AT&T & Co", "R&D at P&G & AT&T."],
        ["İstanbul İzmir", "İSTANBUL visits ǅungla and ΑΘΗΝΑ; Straße STRASSE ß."],
        ["中国 和 日本", "中国 Japan 東京 Tōkyō ÉLYSÉE Élysée élysée"],
        ["Ⅻ² ³ ½ ٣ Ⅻb ªB", "x² 2nd 1990s 4,800 $12m 3-1 12:30"],
        ["The Mr Dr", "Monday said Reuters. President Obama and Prime Minister May."],
        ["Chinese China Chin Chinatown", "Xi met Chinese officials. Chin, China's envoy."],
        ["talks talking talked talkings", "Accelerating accelerated accelerates relationships."],
        ["a b c d", "I a A x X"],
    ],
)
def test_same_on_edge_cases(sentences: list[str]) -> None:
    _assert_same(sentences)


_ALPHABET = "aAbBsSzZ019 _'’&-.,!?()ÉéΑαǅⅫª中İßıÅå\u0301\u00a0\t"
_WORDS = [
    *sorted(cluster._STOPWORDS | cluster._TITLES),
    "Russia", "Russian", "Japan", "Japanese", "Putin", "Abe", "Shinzo", "US", "NATO",
    "talks", "peace", "treaty", "island", "accelerating", "Iran", "Iranian", "Xi",
    "O'Neill", "Jean-Luc", "AT&T", "ÉU", "Ärzte", "straße", "İzmir",
]  # fmt: skip


def _random_word(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 9)))
    word = rng.choice(_WORDS)
    casing = rng.random()
    if casing < 0.2:
        return word.upper()
    if casing < 0.5:
        return word.capitalize()
    return word + rng.choice(["", "", "'s", "’", "s", "ing", "-", "-Smith"])


def test_same_on_random_text() -> None:
    rng = random.Random(7)
    glue = [" ", " ", " ", ", ", " - ", "'s ", " (", ") ", "’ ", "&", "_"]
    for _ in range(20_000):
        count = rng.randint(1, 6)
        sentences = [
            "".join(_random_word(rng) + rng.choice(glue) for _ in range(rng.randint(0, 14)))
            for _ in range(count)
        ]
        _assert_same(sentences)


def test_the_shingle_limit_holds() -> None:
    words = " ".join(f"word{i}x" for i in range(200))
    names, shingles = _compiled([words]) if _compiled else ([], [])
    assert len(shingles) == MAX_SHINGLES
    assert shingles == sorted(shingles)
    assert (names, shingles) == names_and_shingles_py([words])


def test_wrong_arguments_are_type_errors() -> None:
    from bot.sources._speedups import names_and_shingles

    sets = (cluster._NOT_NAMES, cluster._STOPWORDS, cluster._TITLES)
    with pytest.raises(TypeError):
        names_and_shingles(*sets, MAX_SHINGLES, ("a tuple",))
    with pytest.raises(TypeError):
        names_and_shingles(*sets, MAX_SHINGLES, ["ok", 3])
    with pytest.raises(TypeError):
        names_and_shingles(*sets)
    with pytest.raises(ValueError):
        names_and_shingles(*sets, MAX_SHINGLES, [])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "One sentence without an end",
        "Mr. Abe met the U.S. envoy on Jan. 5. He left. Dr. No. approx. five. The U.S. economy.",
        'He said "Stop." Then he left! Did he? (Yes.) [Maybe.] «Non.» ‘Quoted.’ “Double.” Next',
        "Ends with a dot.",
        "Ellipsis… Next one... and lower... Upper!!! ?? !? .",
        "John F. Kennedy. A. B. C. e.g. this. i.e. That. U.S.A. Next. a.m. Then.",
        "3.5 per cent. 4. Next. v2.0 is out. No. 5 is here. no. 6 too.",
        "Tab\tend.\tNext.\nLine.\n\nPara.\u00a0NBSP.\u2003Em space. \u3000Ideographic.",
        "Quote.' Closed.\" Next.) (Open. [Bracket. “Curly. ‘Single. «Guillemet.",
        "Ünïcödé. Ärger. été. Été. 中文。 Next. 1st. ٣ Arabic digit. Ⅻ. Roman.",
        "x._y. _Under. -Dash. *Star. #Hash.",
        "(Mr. Smith) said. 'Mr. Jones' said. \"Dr. Who\" said.",
    ],
)
def test_same_splits_on_edge_cases(text: str) -> None:
    _assert_same_split(text)


_SPLIT_PIECES = [
    "Mr", "mr", "U.S", "e.g", "J", "j", "Jan", "approx", "No", "word", "Word", "WORD", "3",
    "3.5", "É", "é", "中", "_x", "x_", "İ", "Ⅻ",
]  # fmt: skip
_SPLIT_GLUE = [
    " ", " ", ". ", ". ", "! ", "? ", "… ", "... ", '." ', ".' ", ".) ", ".] ", ".» ", ".” ",
    ". (", '. "', ". “", ". ‘", ". «", ". [", ".\t", ".\n", ".\u00a0", ". ' ", ".", "!?", ",",
]  # fmt: skip


def test_same_splits_on_random_text() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        pieces = [
            rng.choice(_SPLIT_PIECES) + rng.choice(_SPLIT_GLUE) for _ in range(rng.randint(0, 12))
        ]
        _assert_same_split("".join(pieces))


def test_split_wrong_arguments_are_type_errors() -> None:
    from bot.sources._speedups import split_sentences as compiled

    with pytest.raises(TypeError):
        compiled(text_module._ABBREVIATIONS, b"bytes")
    with pytest.raises(TypeError):
        compiled("not a set", "text")


# --- story grouping (ingest.StoryGrouper) ------------------------------------------------

_NAME_POOL = ["russia", "russian", "japan", "japanese", "iran", "iranian", "abe", "us", "xi",
              "china", "chinese", "chin", "putin", "kenya", "kenyan", "é", "éire"]  # fmt: skip


def _random_signature(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["", "garbage|x", "s2|japan|000000", "s1|japan|00000", "s1|japan|zz0000",
                           "s1|japan", "s1|japan russia|000001|000002"])  # fmt: skip
    names = sorted(set(rng.sample(_NAME_POOL, rng.randint(0, 6))))
    shingles = sorted(set(rng.sample(range(40), rng.randint(0, 12))))
    hex_text = "".join(f"{value:06x}" for value in shingles)
    separator = " " if rng.random() < 0.9 else "  "
    return f"s1|{separator.join(names)}|{hex_text}"


def _random_items(rng: random.Random, first_id: int, since: datetime) -> list[StoredItem]:
    items = []
    for article_id in range(first_id, first_id + rng.randint(0, 8)):
        published = since + timedelta(minutes=rng.randint(-30, 600))
        status = rng.choice(["new"] * 8 + ["updated", "unchanged"])
        item = ArticleInput(f"https://x.example/{article_id}", "h", "s", published, ("world",),
                            None, _random_signature(rng))  # fmt: skip
        items.append(StoredItem(article_id, status, item))
    return items


def _assert_groupers_agree(compiled: StoryGrouper, reference: StoryGrouper) -> None:
    assert compiled._clusters == reference._clusters
    assert compiled._sources == reference._sources
    assert dict(compiled._postings) == dict(reference._postings)
    assert compiled._signatures == reference._signatures


def _replay(batches: list[tuple[int, list[StoredItem]]], since: datetime | None) -> int:
    """Both groupers fed the same batches agree on every answer and on their state;
    how many articles joined a story.
    """
    recent = [RecentSignature(1, 1, 1, "s1|japan russia|000001"),
              RecentSignature(2, 1, 2, "s1|iran us|000002")]  # fmt: skip
    compiled = StoryGrouper(recent, since=since)
    reference = StoryGrouper(recent, since=since)
    joined = 0
    for source_id, items in batches:
        got = compiled.assign(items, source_id=source_id)
        assert got == reference._assign_py(items, source_id), (source_id, items)
        joined += len(got)
    _assert_groupers_agree(compiled, reference)
    return joined


def test_grouper_same_on_random_signatures() -> None:
    assert ingest._assign_stories is not None
    rng = random.Random(17)
    since = datetime(2024, 5, 14, tzinfo=UTC)
    joined = 0
    for _ in range(200):
        batches, next_id = [], 10
        for _ in range(rng.randint(1, 30)):
            items = _random_items(rng, next_id, since)
            next_id += len(items)
            batches.append((rng.randint(1, 6), items))
        joined += _replay(batches, rng.choice([since, None]))
    assert joined > 1000  # the random signatures do make stories


def test_grouper_same_on_the_benchmark_site_items() -> None:
    since = datetime(2024, 5, 12, 18, 0, tzinfo=UTC)
    profile = SourceProfile(topics=("world",), topic_catalogue=(), default_tz=UTC)
    batches, next_id = [], 1
    for seed in range(60):
        items = make_items(40, seed=seed, prefix=f"feed{seed}")
        body = render_feed("rss", "Feed", items, "http://127.0.0.1", "http://127.0.0.1/f.xml",
                           datetime(2024, 5, 14, 18, 0, tzinfo=UTC))  # fmt: skip
        rows = prepare_feed_rows(body, url="http://127.0.0.1/f.xml", content_type=None,
                                 fetched_at=datetime(2024, 5, 14, 19, 0, tzinfo=UTC),
                                 profile=profile)  # fmt: skip
        inputs = feed_items(rows)
        batches.append(
            (seed + 1, [StoredItem(next_id + i, "new", x) for i, x in enumerate(inputs)])
        )
        next_id += len(inputs)
    assert _replay(batches, since) > 1000


def test_grouper_wrong_state_is_a_type_error() -> None:
    from bot.sources._speedups import assign_stories

    with pytest.raises(TypeError):
        assign_stories((1, 2), [], 1, None)
