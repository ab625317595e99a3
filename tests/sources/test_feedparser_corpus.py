"""parse_feed over feedparser's ~2,200 test feeds: ParseError is fine, nothing else is.

The corpus comes from the feedparser sdist, fetched once with pip into
bench/.cache (see bench/feedparser_corpus.py). Set NEWSBOT_OFFLINE=1 to skip
when the package registry cannot be reached.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_HELPER = Path(__file__).resolve().parents[2] / "bench" / "feedparser_corpus.py"


def load_bench_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("feedparser_corpus", BENCH_HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(300)
def test_corpus_raises_nothing_but_parse_error() -> None:
    helper = load_bench_helper()
    try:
        corpus = helper.load_corpus()
    except helper.CorpusUnavailable as err:
        if os.environ.get("NEWSBOT_OFFLINE") == "1":
            pytest.skip(f"NEWSBOT_OFFLINE=1 and the corpus is not cached: {err}")
        pytest.fail(f"{err} (set NEWSBOT_OFFLINE=1 to skip this test without network)")
    result = helper.run_corpus(corpus)
    assert result.files > 2000
    assert result.other_errors == []
    assert result.parsed > result.files * 0.9  # most corpus files are readable feeds
    assert result.seconds < 60
