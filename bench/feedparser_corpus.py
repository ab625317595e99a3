"""Run parse_feed over feedparser's own test corpus (~2,200 feeds from its sdist).

    .venv/bin/python bench/feedparser_corpus.py

The sdist is downloaded once with pip into bench/.cache and reused. Every file
must either parse or raise ParseError; any other exception is a bug in our code.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
FEEDPARSER_VERSION = "6.0.14"
SDIST_NAME = f"feedparser-{FEEDPARSER_VERSION}.tar.gz"
CORPUS_SUFFIXES = (".xml", ".rdf", ".atom")
FETCHED_AT = datetime(2025, 1, 1, tzinfo=UTC)


class CorpusUnavailable(RuntimeError):
    """pip could not download the feedparser sdist (no route to the registry?)."""


@dataclass
class CorpusResult:
    """Counts of one run over the corpus."""

    files: int = 0
    parsed: int = 0
    parse_errors: int = 0
    items: int = 0
    other_errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def ensure_sdist(cache_dir: Path = CACHE_DIR) -> Path:
    """Path of the feedparser sdist, downloading it with pip when not cached."""
    sdist = cache_dir / SDIST_NAME
    if sdist.exists():
        return sdist
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        f"feedparser=={FEEDPARSER_VERSION}", "-d", str(cache_dir),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not sdist.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CorpusUnavailable(f"pip download of feedparser sdist failed: {' | '.join(tail)}")
    return sdist


def iter_corpus(sdist: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every test feed in the sdist, in a stable order."""
    with tarfile.open(sdist, "r:gz") as archive:
        members = sorted(
            (m for m in archive.getmembers() if _is_corpus_file(m.name) and m.isfile()),
            key=lambda m: m.name,
        )
        for member in members:
            handle = archive.extractfile(member)
            if handle is not None:
                yield member.name.split("/", 1)[1], handle.read()


def _is_corpus_file(name: str) -> bool:
    parts = name.split("/")
    return len(parts) > 2 and parts[1] == "tests" and name.endswith(CORPUS_SUFFIXES)


def load_corpus(cache_dir: Path = CACHE_DIR) -> list[tuple[str, bytes]]:
    """All corpus files, downloading the sdist first if needed."""
    return list(iter_corpus(ensure_sdist(cache_dir)))


def run_corpus(corpus: list[tuple[str, bytes]]) -> CorpusResult:
    """parse_feed over every file; ParseError counts as expected, anything else is listed."""
    from bot.errors import ParseError
    from bot.sources.feeds import parse_feed

    result = CorpusResult()
    started = time.perf_counter()
    for name, body in corpus:
        result.files += 1
        try:
            feed = parse_feed(body, url=f"http://example.org/{name}", fetched_at=FETCHED_AT)
        except ParseError:
            result.parse_errors += 1
        except Exception as err:  # the point of the check: report every unexpected failure
            result.other_errors.append((name, f"{type(err).__name__}: {err}"))
        else:
            result.parsed += 1
            result.items += len(feed.items)
    result.seconds = time.perf_counter() - started
    return result


def main() -> int:
    """Print the counts; exit status 1 when any exception other than ParseError occurred."""
    result = run_corpus(load_corpus())
    print(f"files:            {result.files}")
    print(f"parsed ok:        {result.parsed} ({result.items} items)")
    print(f"ParseError:       {result.parse_errors}")
    print(f"other exceptions: {len(result.other_errors)}")
    for name, error in result.other_errors:
        print(f"  {name}: {error}")
    print(f"time:             {result.seconds:.1f} s")
    return 1 if result.other_errors else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
