"""Feed parser speed: feedparser default vs feedparser without sanitizing/URL resolving
vs fastfeedparser vs our full parse_feed (parsing + cleaning), in feeds per second.

    .venv/bin/python bench/parsers.py [--sample-every N] [--repeats R]

Data: the shared fixture feeds plus every Nth file of feedparser's test corpus
(see feedparser_corpus.py). fastfeedparser is optional (pip install fastfeedparser).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from feedparser_corpus import load_corpus  # noqa: E402

from bot.errors import ParseError  # noqa: E402
from bot.sources.feeds import parse_feed  # noqa: E402

FIXTURE_DIR = BENCH_DIR.parent / ".." / "shared" / "fixtures" / "feeds"
FETCHED_AT = datetime(2025, 1, 1, tzinfo=UTC)
Parser = Callable[[bytes], object]


def _feedparser_default(body: bytes) -> object:
    return feedparser.parse(body)


def _feedparser_fast(body: bytes) -> object:
    return feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)


def _newsbot(body: bytes) -> object:
    try:
        return parse_feed(body, url="https://example.org/feed", fetched_at=FETCHED_AT)
    except ParseError:
        return None


def _parsers() -> dict[str, Parser]:
    parsers: dict[str, Parser] = {
        "feedparser default": _feedparser_default,
        "feedparser sanitize/resolve off": _feedparser_fast,
        "newsbot parse_feed (incl. cleaning)": _newsbot,
    }
    try:
        import fastfeedparser
    except ImportError:
        print("fastfeedparser is not installed: pip install fastfeedparser to include it")
        return parsers
    parsers["fastfeedparser"] = lambda body: fastfeedparser.parse(body)
    return parsers


def _one_pass(parser: Parser, bodies: list[bytes]) -> tuple[float, int]:
    """Seconds for one pass over all bodies, and how many raised."""
    errors = 0
    started = time.perf_counter()
    for body in bodies:
        try:
            parser(body)
        except Exception:  # a parser failing on a feed is a result to count, not a crash
            errors += 1
    return time.perf_counter() - started, errors


def measure(parser: Parser, bodies: list[bytes], repeats: int) -> tuple[float, int]:
    """Median feeds/s over ``repeats`` passes, and the error count of one pass."""
    runs = [_one_pass(parser, bodies) for _ in range(repeats)]
    return statistics.median(len(bodies) / seconds for seconds, _ in runs), runs[0][1]


def _datasets(sample_every: int) -> dict[str, list[bytes]]:
    fixtures = [path.read_bytes() for path in sorted(FIXTURE_DIR.glob("*.xml"))]
    corpus = [body for _, body in load_corpus()[::sample_every]]
    return {"fixtures (XML)": fixtures, f"corpus 1/{sample_every}": corpus}


def main() -> None:
    """Print a table: dataset, parser, feeds/s (median), failures."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--sample-every", type=int, default=10)
    args.add_argument("--repeats", type=int, default=5)
    options = args.parse_args()
    parsers = _parsers()
    print(f"{'dataset':<22} {'parser':<38} {'feeds/s':>10} {'raised':>7}")
    for dataset, bodies in _datasets(options.sample_every).items():
        for name, parser in parsers.items():
            rate, errors = measure(parser, bodies, options.repeats)
            print(f"{dataset + f' ({len(bodies)})':<22} {name:<38} {rate:>10.0f} {errors:>7}")


if __name__ == "__main__":
    main()
