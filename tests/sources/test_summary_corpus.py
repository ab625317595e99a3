"""Summaries of realistic feed items from many outlets' styles: golden files.

Each case is ``tests/data/summaries/<case>.html``: the item's description as a
feed carries it, with its headline in a first-line comment
``<!-- headline: ... -->``; ``<case>.expected.txt`` is the summary the story is
stored with. After a deliberate change to the cleaning rules, regenerate with
``NEWSBOT_REGEN_GOLDEN=1 .venv/bin/pytest tests/sources/test_summary_corpus.py``
and read the diff before committing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.sources.text import clean_text, final_summary, split_sentences
from tests.conftest import DATA_DIR

CORPUS = DATA_DIR / "summaries"
CASES = sorted(CORPUS.glob("*.html"))
IS_REGEN = os.environ.get("NEWSBOT_REGEN_GOLDEN") == "1"
_HEADLINE_RE = re.compile(r"^<!-- headline: (?P<headline>.*?) -->\n")
# What must never survive into a summary, whatever the outlet.
FURNITURE = (
    "Read more",
    "Share this",
    "Copyright 2026",
    "©",
    "All rights reserved",
    "Advertisement",
    "ADVERTISEMENT",
    "newsletter to get",
    "Reporting by",
    "Photo:",
    "AP Photo",
    "(Reuters) -",
    "GENEVA:",
    "SUVA",
    "appeared first on",
    "Continue reading",
    "Follow us",
    "Updated:",
    "By Priya",
    "is a senior correspondent",
    "About the author",
    "min read",
    "-- AFP",
)


def summarize(path: Path) -> tuple[str, str]:
    """(headline, summary) of one corpus item, as ingestion computes them."""
    text = path.read_text(encoding="utf-8")
    match = _HEADLINE_RE.match(text)
    assert match, f"{path.name} must start with <!-- headline: ... -->"
    headline = match["headline"]
    return headline, final_summary(clean_text(text[match.end() :]), headline)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_summary_matches_golden(path: Path) -> None:
    _, summary = summarize(path)
    golden = path.with_suffix(".expected.txt")
    if IS_REGEN:
        golden.write_text(summary + "\n", encoding="utf-8")
    assert golden.exists(), f"missing {golden.name}; run with NEWSBOT_REGEN_GOLDEN=1"
    assert summary == golden.read_text(encoding="utf-8").removesuffix("\n")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_summary_is_a_few_whole_sentences_without_furniture(path: Path) -> None:
    headline, summary = summarize(path)
    if not summary:  # only the headline: nothing to add, so no summary at all
        assert path.stem == "headline_only"
        return
    assert len(summary) <= 300 * 1.3
    if summary.endswith("…"):  # one very long sentence, cut at a word
        assert len(summary) <= 301 and not summary[-2].isspace()
    else:
        assert 1 <= len(split_sentences(summary)) <= 3
    assert summary.casefold() != headline.casefold()
    assert not summary.casefold().startswith(headline.casefold().rstrip("."))
    for junk in FURNITURE:
        if "kept" not in path.stem:
            assert junk not in summary, f"{junk!r} left in {path.stem}: {summary}"


@pytest.mark.parametrize(
    ("case", "kept"),
    [
        ("news_about_newsletters_kept", "newsletter platform"),
        ("news_about_copyright_kept", "Copyright law"),
        ("news_about_advertising_kept", "Advertisement spending"),
        ("ordinary_colon_kept", "The finance minister said: we will"),
    ],
)
def test_news_that_mentions_furniture_words_is_kept(case: str, kept: str) -> None:
    _, summary = summarize(CORPUS / f"{case}.html")
    assert kept in summary
