"""The same-story rule against the labelled pairs of ``data/grouping/pairs.json``.

At least 60 pairs of two outlets' items (English, Spanish, French, German),
labelled "same" or "different" event, with hard negatives (same place, person
or week, different events) and hard positives (paraphrased headlines). Each
goes through the real grouper (``bench.grouping``). A wrong join hides news,
so precision must stay at or above 0.95; recall at or above 0.8.
"""

from __future__ import annotations

from collections import Counter

from bench.grouping import grouped, load_pairs, score
from tests.conftest import DATA_DIR

PAIRS = load_pairs(DATA_DIR / "grouping" / "pairs.json")
MIN_PRECISION = 0.95
MIN_RECALL = 0.8


def test_the_labelled_set_is_big_and_varied() -> None:
    assert len(PAIRS) >= 60
    labels = Counter(pair["label"] for pair in PAIRS)
    assert labels["same"] >= 25 and labels["different"] >= 25
    assert set(labels) == {"same", "different"}
    outlets = {pair[side]["source"] for pair in PAIRS for side in ("a", "b")}
    assert len(outlets) >= 20


def test_precision_and_recall_meet_the_targets() -> None:
    result = score(PAIRS)
    assert result.precision >= MIN_PRECISION, result.wrong
    assert result.recall >= MIN_RECALL, result.wrong


def test_the_issue_cases() -> None:
    by_note = {pair["note"]: pair for pair in PAIRS}
    volcano = by_note["issue: one volcano eruption, two outlets"]
    assert grouped(volcano["a"], volcano["b"])
    bengal = [pair for note, pair in by_note.items() if note.startswith("issue: Bay of Bengal")]
    assert len(bengal) == 2
    assert not any(grouped(pair["a"], pair["b"]) for pair in bengal)
