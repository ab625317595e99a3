"""Plain-text article import: the seed TNIE story and the shapes around it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ParseError
from bot.sources.plaintext import parse_text_article
from tests.conftest import DATA_DIR

SEED = DATA_DIR / "articles" / "tnie-world-2018-11-15-russia-japan.txt"
SEED_URL = "https://www.newindianexpress.com/world/2018/nov/15/russia-japan-1899011.html"
KOLKATA = ZoneInfo("Asia/Kolkata")
FURNITURE = ("disclaimer", "stay up to date", "flipboard", "whatsapp", "photo | ap", "a+a-")


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
