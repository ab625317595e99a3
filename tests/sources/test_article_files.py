"""Articles from files: a plain-text article (the seed TNIE story and the shapes
around it), then parse_article_file over a real temporary folder of .txt, .html
and .json articles.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ParseError
from bot.sources.article_files import parse_article_file, parse_text_article
from tests.conftest import DATA_DIR

PAGES = DATA_DIR / "pages"
SEED = DATA_DIR / "articles" / "tnie-world-2018-11-15-russia-japan.txt"
SEED_URL = "https://www.newindianexpress.com/world/2018/nov/15/russia-japan-1899011.html"
KOLKATA = ZoneInfo("Asia/Kolkata")
FURNITURE = ("disclaimer", "stay up to date", "flipboard", "whatsapp", "photo | ap", "a+a-")


# --- a plain-text article ------------------------------------------------------


@pytest.fixture(scope="module")
def seed_text() -> str:
    assert SEED.is_file(), f"seed fixture missing: {SEED}"
    return SEED.read_text(encoding="utf-8")


def test_seed_headline_is_exact(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL, default_tz=KOLKATA)
    assert draft.headline == (
        "World War II finally ends: Russia and Japan to accelerate peace treaty talks "
        "stalled by island row"
    )


def test_seed_summary_is_the_standfirst_cut_at_a_sentence(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL, default_tz=KOLKATA)
    assert draft.summary.startswith("The two countries are still technically at war")
    assert len(draft.summary) <= 300
    assert draft.summary.endswith((".", "!", "?", '"', "”"))


def test_seed_published_in_source_time_zone(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL, default_tz=KOLKATA)
    assert draft.published_at == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)
    assert draft.published_at.astimezone(KOLKATA).strftime("%d %b %Y %H:%M") == (
        "15 Nov 2018 19:16"
    )


def test_seed_date_without_source_zone_is_read_as_utc(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL)
    assert draft.published_at == datetime(2018, 11, 15, 19, 16, tzinfo=UTC)


def test_seed_lead_starts_after_dateline_and_caption(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL, default_tz=KOLKATA)
    assert draft.lead.startswith("Russia and Japan have agreed to accelerate talks")
    assert "SINGAPORE:" not in draft.lead
    assert "pose for a photo" not in draft.lead
    assert "Putin" in draft.lead


@pytest.mark.parametrize("word", FURNITURE)
def test_seed_has_no_page_furniture(seed_text: str, word: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL, default_tz=KOLKATA)
    assert word not in draft.summary.lower()
    assert word not in draft.lead.lower()


def test_seed_url_is_canonical(seed_text: str) -> None:
    draft = parse_text_article(seed_text, url=SEED_URL + "?utm_source=rss#comments")
    assert draft.url == SEED_URL


def test_without_standfirst_summary_comes_from_lead() -> None:
    text = (
        "Floods cut off villages in Kerala\n\n"
        "By Staff Reporter\n"
        "Updated: 16 Aug 2018, 09:30 AM IST\n\n"
        "Image used for representational purpose only\n\n"
        "KOCHI: Heavy rain cut off dozens of villages in Kerala on Thursday. "
        "Rescue teams used boats to reach families stranded on rooftops.\n\n"
        "Now we are on Telegram too. Follow us for updates\n"
        "Comments\n"
    )
    draft = parse_text_article(text, url="https://example.com/states/kerala/floods.html")
    assert draft.headline == "Floods cut off villages in Kerala"
    assert draft.summary == (
        "Heavy rain cut off dozens of villages in Kerala on Thursday. "
        "Rescue teams used boats to reach families stranded on rooftops."
    )
    assert draft.published_at == datetime(2018, 8, 16, 4, 0, tzinfo=UTC)
    assert "Telegram" not in draft.lead
    assert "representational" not in draft.lead


def test_text_with_only_headline_and_body() -> None:
    text = "Markets close higher\nShares rose on Friday. Banks led the gains.\n"
    draft = parse_text_article(text, url="https://example.com/business/markets")
    assert draft.headline == "Markets close higher"
    assert draft.summary == "Shares rose on Friday. Banks led the gains."
    assert draft.published_at is None


def test_long_lead_summary_is_cut_at_sentence_boundary() -> None:
    sentence = "The committee met again on Tuesday to discuss the proposed changes to the budget. "
    text = "Budget talks continue\n\n" + sentence * 8
    draft = parse_text_article(text, url="https://example.com/a")
    assert len(draft.summary) <= 300
    assert draft.summary.endswith("budget.")


def test_photo_caption_variants_are_not_summary() -> None:
    text = (
        "Storm hits coast\n\n"
        "Thousands were evacuated as the storm made landfall.\n\n"
        "Published: Nov 15, 2018, 07:16 PM\n\n"
        "File photo of a cyclone shelter in Odisha\n\n"
        "Fishermen pull boats ashore before the storm. Photo: PTI\n\n"
        "CHENNAI: The storm crossed the coast at dawn, officials said.\n"
    )
    draft = parse_text_article(text, url="https://example.com/a", default_tz=KOLKATA)
    assert draft.summary == "Thousands were evacuated as the storm made landfall."
    assert draft.lead == "The storm crossed the coast at dawn, officials said."
    assert draft.published_at == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "   \n\n  \n", "\u00a0\n"])
def test_empty_text_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_text_article(text, url="https://example.com/a")


def test_body_sentences_that_look_like_labels_are_kept() -> None:
    text = (
        "New rules for drivers\n\n"
        "Published on: 3 March 2020 10:00\n\n"
        "By noon, queues had formed at every licence office.\n\n"
        "Updated rules take effect next month, officials said.\n"
    )
    draft = parse_text_article(text, url="https://example.com/a")
    assert draft.lead == (
        "By noon, queues had formed at every licence office.\n\n"
        "Updated rules take effect next month, officials said."
    )
    assert draft.published_at == datetime(2020, 3, 3, 10, 0, tzinfo=UTC)


# --- a folder of article files --------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "rain story.txt").write_text(
        "Monsoon rains lash Mumbai\n\n"
        "Local trains were suspended as water logged the tracks.\n\n"
        "Published: 2nd July 2019 10:30 AM\n\n"
        "MUMBAI: Heavy rain flooded low-lying areas of Mumbai on Tuesday.\n",
        encoding="utf-8",
    )
    shutil.copy(PAGES / "india_budget_no_description.html", tmp_path / "rbi.html")
    record = {
        "title": "Chess &amp; Go: AI beats champion",
        "url": "https://news.example/tech/ai-go.html?utm_medium=email",
        "summary": "<p>A program beat the world champion at Go.</p>",
        "published": "2016-03-15T09:00:00",
        "categories": ["Science & Tech", "AI"],
    }
    (tmp_path / "go.json").write_text(json.dumps(record), encoding="utf-8")
    return tmp_path


def base_url(folder: Path) -> str:
    return folder.as_uri() + "/"


def test_txt_file_url_is_base_plus_file_name(folder: Path) -> None:
    draft = parse_article_file(
        folder / "rain story.txt", base_url=base_url(folder), default_tz=KOLKATA
    )
    assert draft.url == base_url(folder) + "rain%20story.txt"
    assert draft.headline == "Monsoon rains lash Mumbai"
    assert draft.summary == "Local trains were suspended as water logged the tracks."
    assert draft.lead == "Heavy rain flooded low-lying areas of Mumbai on Tuesday."
    assert draft.published_at == datetime(2019, 7, 2, 5, 0, tzinfo=UTC)


def test_html_file_goes_through_page_extraction(folder: Path) -> None:
    draft = parse_article_file(folder / "rbi.html", base_url=base_url(folder), default_tz=KOLKATA)
    assert draft.headline == "RBI keeps repo rate unchanged at 6.5 per cent"
    assert draft.summary.startswith("The Reserve Bank of India on Thursday")
    assert draft.published_at == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)
    # a relative canonical link cannot make a web URL out of a file URL: the file URL stays
    assert draft.url == base_url(folder) + "rbi.html"


def test_json_file_fields(folder: Path) -> None:
    draft = parse_article_file(folder / "go.json", base_url=base_url(folder), default_tz=UTC)
    assert draft.headline == "Chess & Go: AI beats champion"
    assert draft.url == "https://news.example/tech/ai-go.html"
    assert draft.summary == "A program beat the world champion at Go."
    assert draft.published_at == datetime(2016, 3, 15, 9, 0, tzinfo=UTC)
    assert draft.categories == ("Science & Tech", "AI")


def test_json_without_url_gets_file_url(folder: Path) -> None:
    (folder / "bare.json").write_text(json.dumps({"title": "Just a title", "text": "Body."}))
    draft = parse_article_file(folder / "bare.json", base_url=base_url(folder))
    assert draft.url == base_url(folder) + "bare.json"
    assert draft.summary == "Body."
    assert draft.published_at is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("list.json", "[1, 2]"),
        ("broken.json", "{not json"),
        ("untitled.json", '{"summary": "no title"}'),
        ("notes.md", "# not an article kind"),
        ("empty.txt", ""),
        ("wall.html", (PAGES / "login_wall.html").read_text()),
    ],
)
def test_unusable_files_raise_parse_error(folder: Path, name: str, content: str) -> None:
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(ParseError):
        parse_article_file(folder / name, base_url=base_url(folder))


def test_missing_file_is_a_parse_error(folder: Path) -> None:
    with pytest.raises(ParseError):
        parse_article_file(folder / "gone.txt", base_url=base_url(folder))
