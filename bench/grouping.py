"""Story grouping against the labelled pairs: precision and recall of "same event".

    .venv/bin/python -m bench.grouping

Each pair of ``tests/data/grouping/pairs.json`` (two outlets' items, labelled
"same" or "different" event) goes through the real :class:`StoryGrouper`: the
earlier item is stored by one source, the later one offered by another; a
join is a "same" answer. Prints the confusion counts, precision and recall,
and the pairs it got wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.sources.cluster import StoryGrouper
from bot.sources.story_signature import signature
from bot.store.articles import ArticleInput, StoredItem

PAIRS_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "grouping" / "pairs.json"


@dataclass(frozen=True, slots=True)
class Score:
    """Confusion counts over the labelled pairs ("same" is the positive class)."""

    true_pos: int
    false_pos: int
    true_neg: int
    false_neg: int
    wrong: tuple[str, ...]  # notes of the pairs answered wrongly

    @property
    def precision(self) -> float:
        said_same = self.true_pos + self.false_pos
        return self.true_pos / said_same if said_same else 1.0

    @property
    def recall(self) -> float:
        same = self.true_pos + self.false_neg
        return self.true_pos / same if same else 1.0


def load_pairs(path: Path = PAIRS_FILE) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return pairs


def grouped(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether the grouper puts ``b`` into ``a``'s story (``a`` stored first, by another source)."""
    first, second = sorted((a, b), key=lambda side: side["published"])
    grouper = StoryGrouper()
    _offer(grouper, 1, first, source_id=1)
    return bool(_offer(grouper, 2, second, source_id=2))


def score(pairs: list[dict[str, Any]]) -> Score:
    counts = {(True, True): 0, (True, False): 0, (False, False): 0, (False, True): 0}
    wrong = []
    for pair in pairs:
        said_same, is_same = grouped(pair["a"], pair["b"]), pair["label"] == "same"
        counts[(said_same, is_same)] += 1
        if said_same != is_same:
            wrong.append(f"{pair['label']}: {pair['note']}")
    return Score(
        true_pos=counts[(True, True)],
        false_pos=counts[(True, False)],
        true_neg=counts[(False, False)],
        false_neg=counts[(False, True)],
        wrong=tuple(wrong),
    )


def _offer(
    grouper: StoryGrouper, article_id: int, side: dict[str, Any], *, source_id: int
) -> dict[int, int]:
    story = signature(side["headline"], side["lead"])
    item = ArticleInput(
        url=f"https://{source_id}.example/{article_id}",
        headline=side["headline"],
        summary=side["lead"],
        published_at=datetime.fromisoformat(side["published"]),
        topics=tuple(side["topics"]),
        signature=story.to_text(),
    )
    return grouper.assign(
        [StoredItem(article_id, "new", item)], signatures={item.url: story}, source_id=source_id
    )


def main() -> None:
    pairs = load_pairs()
    result = score(pairs)
    print(f"pairs: {len(pairs)}")
    print(
        f"same->joined {result.true_pos}  different->joined {result.false_pos}  "
        f"different->apart {result.true_neg}  same->apart {result.false_neg}"
    )
    print(f"precision {result.precision:.3f}  recall {result.recall:.3f}")
    for note in result.wrong:
        print(f"  wrong: {note}")


if __name__ == "__main__":
    main()
