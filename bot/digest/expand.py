"""The "+K more" button of a digest section: what its callback data carries, and the
stories it expands to.

A digest's section shows its best ``per_topic`` stories; the button under the
message brings the rest. Its callback data names the section and the digest's
article range, ``more:<topic>:<cursor>:<max id>:<shown>:<since>`` (the numbers in
base 36, ``since`` in minutes since the epoch), so the press can be answered
later from the store alone: the stories of that topic whose story began above
``cursor`` with articles up to ``max id`` fetched since ``since``, ranked as the
digest ranked them, after the first ``shown``. Telegram caps callback data at 64
bytes; a section whose data would not fit gets the italic "+K more" line instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.digest.content import Section
from bot.digest.select import TopicLike, plan_digest
from bot.store.records import Article

MORE_PREFIX = "more:"
CALLBACK_DATA_MAX_BYTES = 64
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class MoreRequest:
    """What a "+K more" button asks for (see the module docstring)."""

    topic_id: str
    cursor: int
    max_article_id: int
    shown: int
    since: datetime

    def to_data(self) -> str | None:
        """The callback data, or None when it would exceed Telegram's 64 bytes."""
        minutes = int(self.since.timestamp()) // 60
        numbers = (self.cursor, self.max_article_id, self.shown, max(minutes, 0))
        data = MORE_PREFIX + ":".join([self.topic_id, *(_base36(n) for n in numbers)])
        return data if len(data.encode()) <= CALLBACK_DATA_MAX_BYTES else None


def parse_more_data(data: str | None) -> MoreRequest | None:
    """The request a button's callback data carries, or None for other or bad data."""
    if not data or not data.startswith(MORE_PREFIX):
        return None
    topic_id, *numbers = data.removeprefix(MORE_PREFIX).rsplit(":", 4)
    if len(numbers) != 4 or not topic_id:
        return None
    try:
        cursor, max_id, shown, minutes = (int(n, 36) for n in numbers)
    except ValueError:
        return None
    since = datetime.fromtimestamp(minutes * 60, UTC)
    return MoreRequest(topic_id, cursor, max_id, shown, since)


def rest_of_section(
    request: MoreRequest,
    articles: Iterable[Article],
    *,
    topics: Sequence[str],
    catalogue: Sequence[TopicLike],
    include_words: Sequence[str] = (),
    exclude_words: Sequence[str] = (),
) -> Section | None:
    """The stories of the requested section the digest left out (None: none left).

    ``articles`` are candidates above the request's cursor; those above its max id
    came after the digest and are left out. ``topics`` are the chat's topics (a
    story shows in the first of them it belongs to, as in the digest).
    """
    in_range = [a for a in articles if a.id <= request.max_article_id]
    wanted = tuple(dict.fromkeys([*topics, request.topic_id]))
    plan = plan_digest(
        in_range,
        topics=wanted,
        catalogue=catalogue,
        include_words=include_words,
        exclude_words=exclude_words,
        cursor_article_id=request.cursor,
        per_topic=len(in_range) + 1,
    )
    section = next((s for s in plan.sections if s.topic_id == request.topic_id), None)
    if section is None or len(section.stories) <= request.shown:
        return None
    return Section(section.topic_id, section.topic_name, section.stories[request.shown :])


def _base36(number: int) -> str:
    if number <= 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits))
