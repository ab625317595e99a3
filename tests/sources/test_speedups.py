"""The compiled word work (bot/sources/_speedups.c) gives what the Python rules
give: the same sentences (text.py), names and shingles (cluster.py) for every input.

``split_sentences_py`` and ``names_and_shingles_py`` are the specification; the C
versions must agree with them on real feed items, on hand-picked edge cases and
on seeded random text.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources import cluster
from bot.sources import text as text_module
from bot.sources.cluster import LEAD_CHARS, MAX_SHINGLES, names_and_shingles_py
from bot.sources.feeds import parse_feed
from bot.sources.plaintext import parse_article_file
from bot.sources.text import html_to_text, remove_dateline, split_sentences, split_sentences_py
from tests.fakes.news_site import make_items

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
