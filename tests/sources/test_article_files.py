"""parse_article_file over a real temporary folder of .txt, .html and .json articles."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ParseError
from bot.sources.plaintext import parse_article_file
from tests.conftest import DATA_DIR

PAGES = DATA_DIR / "pages"
KOLKATA = ZoneInfo("Asia/Kolkata")


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
