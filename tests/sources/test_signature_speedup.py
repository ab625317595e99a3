"""The compiled signature code (bot/sources/_signature.c) gives what cluster.py's
Python rules give: the same names and shingles for every input.

``names_and_shingles_py`` is the specification; the C version must agree with it
on real feed items, on hand-picked edge cases and on seeded random text.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources import cluster
from bot.sources.cluster import LEAD_CHARS, MAX_SHINGLES, names_and_shingles_py
from bot.sources.feeds import parse_feed
from bot.sources.plaintext import parse_article_file
from bot.sources.text import html_to_text, remove_dateline, split_sentences
from tests.fakes.news_site import make_items

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
_compiled = cluster._compiled_names_and_shingles()


def _sentences(headline: str, text: str) -> list[str]:
    lead = cluster._undot_acronyms(remove_dateline(text.strip())[:LEAD_CHARS])
    return [cluster._undot_acronyms(headline), *split_sentences(lead)]


def _assert_same(sentences: list[str]) -> None:
    assert _compiled is not None
    assert _compiled(sentences) == names_and_shingles_py(sentences), sentences


def test_the_compiled_version_is_built_and_used() -> None:
    # pip install -e . builds it (it needs a C compiler); without it the Python rules serve.
    assert _compiled is not None, "bot.sources._signature not built: reinstall with a C compiler"
    assert cluster.COMPILED


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


def test_same_on_the_benchmark_site_items() -> None:
    for seed in range(50):
        for item in make_items(40, seed=seed, prefix=f"feed{seed}"):
            _assert_same(_sentences(item.title, html_to_text(item.summary)))


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
    from bot.sources._signature import names_and_shingles

    sets = (cluster._NOT_NAMES, cluster._STOPWORDS, cluster._TITLES)
    with pytest.raises(TypeError):
        names_and_shingles(*sets, MAX_SHINGLES, ("a tuple",))
    with pytest.raises(TypeError):
        names_and_shingles(*sets, MAX_SHINGLES, ["ok", 3])
    with pytest.raises(TypeError):
        names_and_shingles(*sets)
    with pytest.raises(ValueError):
        names_and_shingles(*sets, MAX_SHINGLES, [])
