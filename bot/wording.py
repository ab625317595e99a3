"""Counted nouns for output people read: "1 source", "2 sources", never "1 sources"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is exactly 1."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
