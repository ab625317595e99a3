"""Sample stories bundled with the package, so ``newsbot shell`` has news without a network.

``bot/data/sample_articles.json`` holds the stories; their publication times
are relative (``minutes_ago``), so they are fresh whenever the shell starts,
except a real story's, which keeps its real date (``published``). Summaries go
through the one summary rule of ingestion (``text.final_summary``), so a
sample shows as a fetched story would: no "GENEVA:" dateline.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib import resources
from typing import Any

from bot.sources.cluster import StoryGrouper
from bot.sources.story_signature import StorySignature, signature
from bot.sources.text import final_summary
from bot.store import Store
from bot.store.articles import ArticleInput

SAMPLES_FILE = "sample_articles.json"
SAMPLE_SOURCE_KIND = "sample"


@dataclass(frozen=True, slots=True)
class SampleArticle:
    """One bundled story; ``minutes_ago`` is counted back from when it is loaded."""

    source: str
    topics: tuple[str, ...]
    headline: str
    summary: str
    url: str
    minutes_ago: int
    published: datetime | None = None  # a real story's real date, instead of minutes_ago

    def to_input(self, now: datetime, known_topics: Collection[str]) -> ArticleInput:
        """The story as the store takes it, published ``minutes_ago`` before ``now``
        (or at its real date)."""
        topics = tuple(t for t in self.topics if t in known_topics)
        summary = final_summary(self.summary, self.headline)
        story = signature(self.headline, summary)
        published = self.published or now - timedelta(minutes=self.minutes_ago)
        return ArticleInput(
            url=self.url,
            headline=self.headline,
            summary=summary,
            published_at=published,
            topics=topics,
            signature=StorySignature(story.names, story.shingles, frozenset(topics)).to_text(),
        )


def load_sample_articles() -> list[SampleArticle]:
    """The bundled sample stories, in file order."""
    raw = resources.files("bot").joinpath("data", SAMPLES_FILE).read_text(encoding="utf-8")
    return [_sample(record) for record in json.loads(raw)["articles"]]


def _sample(record: dict[str, Any]) -> SampleArticle:
    return SampleArticle(
        source=record["source"],
        topics=tuple(record["topics"]),
        headline=record["headline"],
        summary=record["summary"],
        url=record["url"],
        minutes_ago=int(record.get("minutes_ago", 0)),
        published=datetime.fromisoformat(record["published"]) if "published" in record else None,
    )


async def seed_sample_articles(
    store: Store, samples: Sequence[SampleArticle], known_topics: Collection[str], now: datetime
) -> int:
    """Store the samples in topics of the catalogue, one source per outlet; returns how many.

    Stories in none of ``known_topics`` are left out: no chat could follow them.
    Outlets' reports of one event are grouped into one story, as ingestion does.
    """
    wanted = [s for s in samples if any(t in known_topics for t in s.topics)]
    outlets = list(dict.fromkeys(s.source for s in wanted))
    declared = [(name, _outlet_home(name, wanted), SAMPLE_SOURCE_KIND) for name in outlets]
    sources = {source.name: source.id for source in await store.sources.sync(declared)}
    grouper = StoryGrouper()
    stored = 0
    for name in outlets:
        inputs = [s.to_input(now, known_topics) for s in wanted if s.source == name]
        signatures = {i.url: StorySignature.from_text(i.signature) for i in inputs}
        group = partial(grouper.assign, signatures=signatures, source_id=sources[name])
        stored += len(await store.articles.store(sources[name], inputs, now, group=group))
    return stored


def _outlet_home(name: str, samples: Sequence[SampleArticle]) -> str:
    """The outlet's site (scheme and host of its first story), as the source URL."""
    url = next(s.url for s in samples if s.source == name)
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/"
