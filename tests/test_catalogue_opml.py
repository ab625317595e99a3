"""``newsbot sources export`` / ``newsbot sources import FILE``: the catalogue as OPML."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.sources.opml import OpmlFeed, parse_opml, render_opml
from tests.sources.test_opml import CREATED
from tests.test_cli import newsbot

CATALOGUE = """
[[topics]]
id = "world"
name = "World news"
aliases = ["international"]

[[topics]]
id = "sport"
name = "Sport"

[[sources]]
name = "World Wire"
url = "https://wire.example/world.xml"
topics = ["world", "sport"]

[[sources]]
name = "Scores"
url = "https://scores.example/rss"
topics = ["sport"]

[[sources]]
name = "Local files"
kind = "folder"
path = "articles"
topics = ["world"]
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "newsbot.toml").write_text(CATALOGUE)
    return tmp_path


def test_export_writes_the_feed_sources_grouped_by_their_first_topic(workdir: Path) -> None:
    result = newsbot("sources", "export", cwd=workdir)

    assert result.returncode == 0, result.stderr
    assert parse_opml(result.stdout.encode()) == [
        OpmlFeed("https://wire.example/world.xml", "World Wire", "World news"),
        OpmlFeed("https://scores.example/rss", "Scores", "Sport"),
    ]


def test_export_then_import_into_an_empty_catalogue_gives_the_same_sources(
    workdir: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "catalogue.opml"
    assert newsbot("sources", "export", "--output", str(exported), cwd=workdir).returncode == 0
    empty = tmp_path / "empty"
    (empty / "config").mkdir(parents=True)
    topics_only = CATALOGUE.split("[[sources]]")[0]
    (empty / "config" / "newsbot.toml").write_text(topics_only)

    result = newsbot("sources", "import", str(exported), cwd=empty)

    assert result.returncode == 0, result.stderr
    sources = tomllib.loads(topics_only + result.stdout)["sources"]
    assert sources == [
        {"name": "World Wire", "url": "https://wire.example/world.xml", "topics": ["world"]},
        {"name": "Scores", "url": "https://scores.example/rss", "topics": ["sport"]},
    ]


def test_import_skips_known_feeds_and_feeds_without_a_topic(workdir: Path, tmp_path: Path) -> None:
    listed = [
        OpmlFeed("https://scores.example/rss", "Scores again", "Sport"),
        OpmlFeed("https://new.example/feed", 'A "quoted" name', "International"),
        OpmlFeed("https://loose.example/feed", "Loose"),
    ]
    path = tmp_path / "list.opml"
    path.write_bytes(render_opml("x", listed, created=CREATED))

    result = newsbot("sources", "import", str(path), cwd=workdir)
    forced = newsbot("sources", "import", str(path), "--topic", "sport", cwd=workdir)

    assert result.returncode == 1
    assert tomllib.loads(result.stdout)["sources"] == [
        {"name": 'A "quoted" name', "url": "https://new.example/feed", "topics": ["world"]}
    ]
    assert "skipped https://scores.example/rss: already in the catalogue" in result.stderr
    assert "skipped https://loose.example/feed: no topic" in result.stderr
    assert forced.returncode == 0
    assert [s["topics"] for s in tomllib.loads(forced.stdout)["sources"]] == [["sport"]] * 2


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b'<!DOCTYPE opml [<!ENTITY a "a">]><opml/>', (), "it declares a DOCTYPE"),
        (b"<opml><body>", (), "not well-formed XML"),
        (b"<opml/>", ("--topic", "weather"), "no topic 'weather' (known topics: world, sport)"),
    ],
)
def test_bad_files_and_topics_are_one_clear_line(
    workdir: Path, tmp_path: Path, content: bytes, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "bad.opml"
    path.write_bytes(content)

    result = newsbot("sources", "import", str(path), *args, cwd=workdir)

    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
