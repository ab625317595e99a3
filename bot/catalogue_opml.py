"""``newsbot sources export`` and ``newsbot sources import FILE``: the catalogue as OPML.

The catalogue lives in the TOML settings, so export writes the configured feed
sources as OPML (one folder per source's first topic), and import prints the
``[[sources]]`` entries to append to ``config/newsbot.toml`` for the feeds of
an OPML file that the catalogue lacks. A feed's topic is ``--topic``, else
its OPML folder or category matched to a topic (id, name or alias); a feed
with neither is skipped and named on stderr. The file is parsed by the same
guarded parser as a chat's /import (no DOCTYPE, no entities, capped
outlines), after a size cap.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from bot.chat.parsing import match_topic
from bot.clock import utcnow
from bot.errors import ConfigError
from bot.settings import Settings, TopicConfig
from bot.sources.opml import OpmlError, OpmlFeed, parse_opml, render_opml

MAX_FILE_BYTES = 20_000_000


def add_opml_commands(sources: argparse.ArgumentParser) -> None:
    """``export`` and ``import`` under ``newsbot sources`` (without one: the health table)."""
    actions = sources.add_subparsers(dest="sources_action", metavar="ACTION")
    export = actions.add_parser("export", help="write the catalogue's feeds as OPML")
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    imported = actions.add_parser(
        "import", help="print [[sources]] entries for the feeds of an OPML file"
    )
    imported.add_argument("file", metavar="FILE", help="an OPML file")
    imported.add_argument(
        "--topic", metavar="ID", help="topic of every feed (else its OPML folder or category)"
    )


async def run_opml_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``sources export`` or ``sources import``; returns the exit status."""
    if args.sources_action == "export":
        return export_catalogue(settings, args.output)
    return import_catalogue(settings, Path(args.file), args.topic)


def export_catalogue(settings: Settings, output: str | None, out: TextIO | None = None) -> int:
    """Write the configured feed sources as OPML (to ``output`` or stdout)."""
    names = {topic.id: topic.name for topic in settings.topics}
    feeds = [
        OpmlFeed(s.url, s.name, names.get(s.topics[0], "") if s.topics else "")
        for s in settings.sources
        if s.kind == "feed" and s.url
    ]
    data = render_opml("newsbot catalogue", feeds, created=utcnow())
    if output:
        Path(output).write_bytes(data)
    else:
        (out or sys.stdout).write(data.decode("utf-8"))
    return 0


def import_catalogue(
    settings: Settings,
    path: Path,
    topic_id: str | None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print ``[[sources]]`` TOML for the feeds of ``path`` the catalogue lacks.

    Exit status 0, or 1 when some feed was skipped. Raises ConfigError for an
    unknown ``topic_id`` or a file that cannot be read.
    """
    out, err = out or sys.stdout, err or sys.stderr
    forced = _topic(settings, topic_id) if topic_id else None
    feeds = _read(path)
    known_urls = {s.url for s in settings.sources}
    taken = {s.name for s in settings.sources}
    skipped = 0
    for feed in feeds:
        if feed.url in known_urls:
            print(f"skipped {feed.url}: already in the catalogue", file=err)
            continue
        topic = forced or (match_topic(feed.category, settings.topics) if feed.category else None)
        if topic is None:
            skipped += 1
            print(f"skipped {feed.url}: no topic (give --topic or an OPML folder)", file=err)
            continue
        name = _free_name(feed.title or feed.url, taken)
        taken.add(name)
        out.write(_toml_entry(name, feed.url, topic.id))
    return 1 if skipped else 0


def _read(path: Path) -> list[OpmlFeed]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError("FILE", f"{path} is over {MAX_FILE_BYTES} bytes", "split it")
        return parse_opml(path.read_bytes())
    except OSError as error:
        raise ConfigError(
            "FILE", f"cannot read {path}: {error.strerror}", "check the path"
        ) from None
    except OpmlError as error:
        raise ConfigError("FILE", f"{path} is refused: {error}", "export it again") from None


def _topic(settings: Settings, topic_id: str) -> TopicConfig:
    topic = settings.topic(topic_id) or match_topic(topic_id, settings.topics)
    if topic is None:
        known = ", ".join(t.id for t in settings.topics) or "none"
        raise ConfigError("--topic", f"no topic {topic_id!r}", f"known topics: {known}")
    return topic


def _free_name(title: str, taken: set[str]) -> str:
    name, number = title[:200], 2
    while name in taken:
        name, number = f"{title[:200]} ({number})", number + 1
    return name


def _toml_entry(name: str, url: str, topic_id: str) -> str:
    # JSON strings are valid TOML basic strings (the same escapes), non-ASCII kept as is.
    def quoted(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    lines = [
        "",
        "[[sources]]",
        f"name = {quoted(name)}",
        f"url = {quoted(url)}",
        f"topics = [{quoted(topic_id)}]",
    ]
    return "\n".join(lines) + "\n"
