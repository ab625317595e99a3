"""Article page extraction against golden files.

Each ``data/pages/<case>.html`` has a ``<case>.expected.json`` beside it (``null``
when no article should come out). After a deliberate change, regenerate with
``NEWSBOT_REGEN_GOLDEN=1 .venv/bin/pytest tests/sources/test_pages.py`` and
review the diff.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.sources.drafts import ArticleDraft
from bot.sources.pages import extract_page
from tests.conftest import DATA_DIR

PAGES = DATA_DIR / "pages"
REGENERATE = os.environ.get("NEWSBOT_REGEN_GOLDEN") == "1"
FEED_URL = "https://www.morningledger.example/feeds/item?id=1899012&utm_source=rss"

# case -> (URL the page was fetched from, the source's time zone)
CASES: dict[str, tuple[str, tzinfo]] = {
    "world_quake_og": ("https://www.dailycourier.example/s/8f3a?utm_source=rss", UTC),
    "india_budget_no_description": (FEED_URL, ZoneInfo("Asia/Kolkata")),
    "login_wall": ("https://paywalled.example/story/1", UTC),
}
FURNITURE = ("cookie", "disclaimer", "stay up to date", "flipboard", "whatsapp", "share this")


def as_json(draft: ArticleDraft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    data = asdict(draft)
    data["published_at"] = draft.published_at.isoformat() if draft.published_at else None
    data["categories"] = list(draft.categories)
    return data


def extract_case(case: str) -> ArticleDraft | None:
    url, tz = CASES[case]
    return extract_page((PAGES / f"{case}.html").read_bytes(), url=url, default_tz=tz)


def test_every_page_has_a_case() -> None:
    assert {p.stem for p in PAGES.glob("*.html")} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_page_matches_golden(case: str) -> None:
    actual = as_json(extract_case(case))
    golden = PAGES / f"{case}.expected.json"
    if REGENERATE:
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert golden.is_file(), f"no golden file {golden.name}; run with NEWSBOT_REGEN_GOLDEN=1"
    assert actual == json.loads(golden.read_text("utf-8"))


@pytest.mark.parametrize("case", ["world_quake_og", "india_budget_no_description"])
def test_page_furniture_is_not_in_summary_or_lead(case: str) -> None:
    draft = extract_case(case)
    assert draft is not None
    for word in FURNITURE:
        assert word not in draft.summary.lower()
        assert word not in draft.lead.lower()


def test_og_description_is_the_summary_and_canonical_link_wins() -> None:
    draft = extract_case("world_quake_og")
    assert draft is not None
    assert draft.headline == "Strong quake shakes Japan's Hokkaido, cutting power to millions"
    assert draft.summary.startswith("A magnitude 6.7 earthquake struck Japan’s northern island")
    assert draft.url == (
        "https://www.dailycourier.example/world/asia/2018/09/06/hokkaido-quake-power-cut/"
    )
    assert draft.published_at == datetime(2018, 9, 5, 19, 35, tzinfo=UTC)
    assert draft.categories == ("World",)


def test_lead_skips_repeated_headline_and_dateline() -> None:
    draft = extract_case("world_quake_og")
    assert draft is not None
    assert draft.lead.startswith("A powerful earthquake struck Japan's northern island")
    assert "(Reuters)" not in draft.lead
    assert "Stay safe everyone" not in draft.lead  # a reader comment, not the story


def test_without_description_summary_is_the_lead_cut_at_a_sentence() -> None:
    draft = extract_case("india_budget_no_description")
    assert draft is not None
    assert draft.summary.startswith("The Reserve Bank of India on Thursday kept")
    assert "MUMBAI" not in draft.summary
    assert len(draft.summary) <= 300
    assert draft.summary.endswith(".")
    # relative canonical link resolved against the fetched URL; naive JSON-LD date in IST
    assert draft.url == (
        "https://www.morningledger.example/business/economy/2018/nov/15/"
        "rbi-keeps-repo-rate-unchanged-1899012.html"
    )
    assert draft.published_at == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)


def test_page_without_article_gives_none() -> None:
    assert extract_case("login_wall") is None


@pytest.mark.parametrize("html", ["", b"", "<html></html>", b"\x00\x01binary"])
def test_empty_or_junk_input_gives_none(html: str | bytes) -> None:
    assert extract_page(html, url="https://example.com/a") is None


def test_str_input_works_like_bytes() -> None:
    raw = (PAGES / "world_quake_og.html").read_text("utf-8")
    url, tz = CASES["world_quake_og"]
    assert extract_page(raw, url=url, default_tz=tz) == extract_case("world_quake_og")


def test_without_canonical_link_the_fetch_url_is_cleaned() -> None:
    paragraph = "<p>" + "The council approved the new park plan after a long debate. " * 4 + "</p>"
    html = f"<html><head><title>Park plan approved</title></head><body><article><h1>Park plan \
approved</h1>{paragraph * 3}</article></body></html>"
    draft = extract_page(html, url="https://city.example/local/park.html?utm_source=x#top")
    assert draft is not None
    assert draft.url == "https://city.example/local/park.html"
    assert draft.headline == "Park plan approved"
    assert draft.published_at is None


def test_extraction_runs_in_worker_threads() -> None:
    """The poller calls extract_page via asyncio.to_thread: no signals, no shared state."""
    cases = sorted(CASES) * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(extract_case, cases))
    assert results == [extract_case(case) for case in cases]
