"""Plan digests: pick the chats that are due, choose and render their stories, enqueue them.

The planner is the glue between the store and the pure digest functions
(``schedule``, ``select``, ``render``). It never talks to Telegram: it writes
digests into the outbox, and the sender delivers them.

Guarantees:

* **Once per slot.** A scheduled digest is keyed ``(chat, slot_key(slot))`` in
  the database, so running :meth:`DigestPlanner.plan_due` twice, or in two
  processes, writes it once.
* **Missed slots are coalesced.** After downtime a chat gets one digest for its
  latest missed slot (covering everything since its last digest), and its next
  slot moves past now (``schedule.coalesce_missed``).
* **Cursor and digest move together.** ``OutboxRepository.enqueue`` writes the
  digest rows and the chat's new cursor in one transaction.
* **No stale cursor.** A chat's cursor is read and its digest written under
  one lock (:attr:`DigestPlanner._lock`), so a welcome, an instant digest and
  a scheduled one planned at the same moment never show the same story twice
  nor move the cursor past a story neither showed. The database holds the same
  rule across processes: each request names the cursor it selected above
  (``cursor_from``) and is not written if the cursor moved meanwhile
  (``digest_writes``); the chat is then planned again from the new cursor.
* **The schedule always moves.** A due chat with nothing new gets a request
  with no parts: nothing is sent, but ``next_digest_at`` advances.

Fan-out cost. Due chats are planned in batches of :data:`BATCH_SIZE`: one
candidate query per batch for the union of the batch's topics, and one
transaction per batch. Alike chats share their digest and schedule through the
call's :class:`~bot.digest.plan_cache.PlanMemo`; the outbox stores each
distinct text once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.digest import wording
from bot.digest.content import DigestPlan, RenderedPart, Section, TopicRef
from bot.digest.expand import MoreRequest
from bot.digest.plan_cache import DigestKey, PlanMemo, Rendered, ScheduleKey, fetched_since
from bot.digest.render import MoreData, render_digest
from bot.digest.select import plan_digest
from bot.digest.slots import (
    coalesce_missed,
    in_quiet_hours,
    next_digest_at,
    quiet_hours_end,
    slot_key,
)
from bot.language import tr
from bot.settings import Settings
from bot.store import Store
from bot.store.records import Article, Chat, DigestRequest, Part

log = logging.getLogger(__name__)

BATCH_SIZE = 2_000
CANDIDATE_LIMIT = 5_000
# A chat's first digest (and the welcome) reaches this far back.
FIRST_DIGEST_LOOKBACK = timedelta(hours=24)
# Later digests look back to the last digest minus this margin: an article whose
# transaction began before the last digest but committed after it is still seen.
# The cursor, not the time, decides what is new, so the margin never repeats a story.
SINCE_MARGIN = timedelta(hours=1)
SLOT_KEY_MAX = 64  # digests.slot_key is VARCHAR(64)
# A welcome or /digest whose chat's cursor another process moved is planned again this often.
STALE_RETRIES = 3


class DigestPlanner:
    """Turns due chats and fresh stories into outbox digests (scheduled, instant, manual)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._catalogue = tuple(TopicRef(t.id, t.name) for t in settings.topics)
        self._memo = PlanMemo()
        self.batch_size = BATCH_SIZE
        # Held from reading chats to enqueueing their digests (see "No stale cursor").
        self._lock = asyncio.Lock()

    async def plan_due(self) -> int:
        """Plan every scheduled chat whose ``next_digest_at`` has come; returns digests written.

        Digests with no new story are not written (but the chat's schedule moves).
        """
        now = self._clock()
        self._memo = PlanMemo()
        written = await self._release_quiet(now)
        seen: set[int] = set()
        while True:
            async with self._lock:  # one batch at a time: a welcome waits one batch at most
                due = await self._store.chats.due(now, limit=self.batch_size)
                fresh = [chat for chat in due if chat.id not in seen]
                if not fresh:  # nothing due, or only chats whose schedule could not move
                    return written
                seen.update(chat.id for chat in fresh)
                written += await self._plan_scheduled_batch(fresh, now)

    async def plan_instant(self, new_article_ids: Sequence[int]) -> int:
        """Give 'instant' chats the new stories of one poll: one digest per chat and poll.

        The slot key ``poll:<highest new article id>`` makes a repeated call harmless.
        Returns digests written.
        """
        if not new_article_ids:
            return 0
        slot = f"poll:{max(new_article_ids)}"
        async with self._lock:
            now = self._clock()
            self._memo = PlanMemo()
            return await self._plan_instant(await self._store.chats.instant(), slot, now)

    async def _release_quiet(self, now: datetime) -> int:
        """Instant chats whose quiet hours ended get the stories held back meanwhile
        (a chat whose new quiet hours hold it still waits until they end)."""
        async with self._lock:
            awake = []
            for chat in await self._store.chats.quiet_over(now, limit=self.batch_size):
                quiet = chat.quiet_hours
                if quiet is not None and in_quiet_hours(quiet, chat.timezone, now):
                    end = quiet_hours_end(quiet, chat.timezone, now)
                    await self._store.chats.update(chat.id, next_digest_at=end)
                else:
                    await self._store.chats.update(chat.id, next_digest_at=None)
                    awake.append(replace(chat, next_digest_at=None))
            if not awake:
                return 0
            return await self._plan_instant(awake, f"quiet:{slot_key(now)}", now)

    async def catch_up(self, chat_id: int) -> int:
        """A chat just switched to instant: queue what is above its cursor now.

        The poll that stored a story plans instant digests only for the chats
        that were instant at that moment, so without this a chat switching
        right after would wait for the next new article. Returns digests written.
        """
        async with self._lock:
            chat = await self._store.chats.get_by_id(chat_id)
            if chat is None or chat.mode != "instant" or chat.is_paused or not chat.is_active:
                return 0
            now = self._clock()
            self._memo = PlanMemo()
            return await self._plan_instant([chat], f"instant:{now.isoformat()}", now)

    async def _plan_instant(self, chats: Sequence[Chat], slot: str, now: datetime) -> int:
        chats = await self._hold_quiet(chats, now)
        written = 0
        for start in range(0, len(chats), self.batch_size):
            batch = chats[start : start + self.batch_size]
            pool = await self._candidates(batch, now)
            requests = [self._instant_request(chat, pool, slot, now) for chat in batch]
            written += await self._store.outbox.enqueue([r for r in requests if r is not None])
        return written

    async def _hold_quiet(self, chats: Sequence[Chat], now: datetime) -> list[Chat]:
        """The chats not in their quiet hours. The others keep their cursor (their new
        stories wait) and become due at the end of their quiet hours (``plan_due``)."""
        awake = []
        for chat in chats:
            if chat.quiet_hours is None or not in_quiet_hours(chat.quiet_hours, chat.timezone, now):
                awake.append(chat)
                continue
            end = quiet_hours_end(chat.quiet_hours, chat.timezone, now)
            if chat.next_digest_at is None or chat.next_digest_at > end:
                await self._store.chats.update(chat.id, next_digest_at=end)
        return awake

    async def deliver_now(self, chat: Chat, request_key: str) -> int:
        """/digest: queue what is new for ``chat`` right now; returns stories queued (0 = none).

        ``request_key`` names the request (the update's id): asked again after a
        crash, a request already queued is not planned twice, and counts as queued.
        """
        slot = _bounded(f"manual:{request_key}")
        async with self._lock:
            earlier = await self._store.outbox.part_count(chat.id, slot)
            if earlier is not None:
                return earlier
            for _ in range(STALE_RETRIES):
                fresh = await self._store.chats.get_by_id(chat.id)
                queued = await self._deliver_now(fresh or chat, slot)
                if queued is not None:
                    return queued
            return 0

    async def _deliver_now(self, chat: Chat, slot: str) -> int | None:
        """Stories queued, or None when another planner moved the cursor first."""
        now = self._clock()
        pool = await self._candidates([chat], now)
        articles = fetched_since(pool, self._since(chat, now))
        rendered = self._render(
            chat,
            articles,
            chat.cursor_article_id,
            at=now,
            title=tr(chat.language, wording.DIGEST_TITLE),
            now=now,
        )
        request = DigestRequest(
            chat_id=chat.id,
            kind="manual",
            slot_key=slot,
            parts=rendered.parts,
            max_article_id=rendered.max_article_id,
            next_digest_at=None,
            last_digest_at=now if rendered.parts else None,
            cursor_from=chat.cursor_article_id,
        )
        return await self._enqueue_one(request, rendered.story_count)

    async def welcome(self, chat: Chat, topic_ids: Sequence[str]) -> int:
        """New topics: queue their top stories of the last 24 h right away.

        On a first subscription (the welcome covers all the chat's topics) it
        shows those above the chat's cursor (all of them for a new chat; a
        digest planned meanwhile may have shown some) and moves the cursor. For
        a topic added later it
        shows only stories at or below the cursor, which the chat would never
        get otherwise; newer ones come with the next digest, so none is sent
        twice. Returns stories queued.
        """
        topics = [t for t in dict.fromkeys(topic_ids) if self._settings.topic(t) is not None]
        if not topics:
            return 0
        async with self._lock:
            for _ in range(STALE_RETRIES):
                fresh = await self._store.chats.get_by_id(chat.id)
                if fresh is None:
                    return 0
                queued = await self._welcome(fresh, topics)
                if queued is not None:
                    return queued
            return 0

    async def _welcome(self, chat: Chat, topics: Sequence[str]) -> int | None:
        """Stories queued, or None when another planner moved the cursor first."""
        now = self._clock()
        since = now - FIRST_DIGEST_LOOKBACK
        articles = await self._store.articles.recent(topics, since=since, limit=CANDIDATE_LIMIT)
        # Own feeds count: a welcome of topics only must not move the cursor past them.
        covers_all = set(chat.followed) <= set(topics)
        if not covers_all:
            articles = [a for a in articles if a.cluster_id <= chat.cursor_article_id]
        cursor = chat.cursor_article_id if covers_all else 0
        scoped = _with_topics(chat, topics)
        names = [t.name for t in self._catalogue if t.id in topics]
        rendered = self._render(
            scoped,
            articles,
            cursor,
            at=None,
            title=wording.welcome_title(names, chat.language),
            now=now,
            footer=wording.welcome_footer(
                self._next_digest_words(chat, now), chat.mode, chat.language
            ),
        )
        request = DigestRequest(
            chat_id=chat.id,
            kind="welcome",
            slot_key=_bounded(f"welcome:{','.join(sorted(topics))}:{_local_date(now, chat)}"),
            parts=rendered.parts,
            max_article_id=rendered.max_article_id if covers_all else 0,
            next_digest_at=None,
            last_digest_at=now if rendered.parts and covers_all else None,
            cursor_from=chat.cursor_article_id if covers_all else None,
        )
        return await self._enqueue_one(request, rendered.story_count)

    async def _enqueue_one(self, request: DigestRequest, story_count: int) -> int | None:
        """Write one chat's digest; ``story_count``, or None if it was stale (not written)."""
        if await self._store.outbox.enqueue([request]) or not request.parts:
            return story_count
        # Nothing new written: the digest was there already, or the request was stale.
        existing = await self._store.outbox.part_count(request.chat_id, request.slot_key)
        return None if existing is None else story_count

    def _next_digest_words(self, chat: Chat, now: datetime) -> str | None:
        """When the chat's next scheduled digest comes, in its zone, or None."""
        if chat.mode != "scheduled" or not chat.digest_times:
            return None
        try:
            at = chat.next_digest_at or next_digest_at(
                chat.digest_times, chat.timezone, now, chat.digest_days
            )
            return wording.next_digest_time(at, chat.timezone, chat.language)
        except (ValueError, KeyError):
            return None

    def memo_stats(self) -> tuple[int, int]:
        """(chats, distinct digests rendered) of the last plan_due/plan_instant."""
        return self._memo.lookups, self._memo.renders

    # ---- scheduled -------------------------------------------------------------------

    async def _plan_scheduled_batch(self, chats: Sequence[Chat], now: datetime) -> int:
        slots = [(chat, self._due_slots(chat, now)) for chat in chats]
        await self._stop_broken_schedules([chat for chat, due in slots if due is None])
        plannable = [(chat, due) for chat, due in slots if due is not None]
        pool = await self._candidates([chat for chat, _ in plannable], now)
        requests = [
            self._scheduled_request(chat, pool, deliver_at, following, now)
            for chat, (deliver_at, following) in plannable
        ]
        return await self._store.outbox.enqueue(requests)

    def _scheduled_request(
        self,
        chat: Chat,
        pool: Sequence[Article],
        deliver_at: datetime,
        following: datetime,
        now: datetime,
    ) -> DigestRequest:
        title = tr(chat.language, wording.DIGEST_TITLE)
        rendered = self._cached_render(chat, pool, now, at=deliver_at, title=title)
        return DigestRequest(
            chat_id=chat.id,
            kind="scheduled",
            slot_key=slot_key(deliver_at),
            parts=rendered.parts,
            max_article_id=rendered.max_article_id,
            next_digest_at=following,
            last_digest_at=now if rendered.parts else None,
            cursor_from=chat.cursor_article_id,
        )

    async def _stop_broken_schedules(self, chats: Sequence[Chat]) -> None:
        """A chat whose times or zone cannot be read would stay due forever: unschedule it."""
        for chat in chats:
            log.warning(
                "chat %s has an unusable schedule %r in %r; digests stopped until it is set again",
                chat.id,
                chat.digest_times,
                chat.timezone,
            )
            await self._store.chats.update(chat.id, next_digest_at=None)

    # ---- instant ---------------------------------------------------------------------

    def _instant_request(
        self, chat: Chat, pool: Sequence[Article], slot: str, now: datetime
    ) -> DigestRequest | None:
        title = tr(chat.language, wording.INSTANT_TITLE)
        rendered = self._cached_render(chat, pool, now, at=None, title=title)
        if not rendered.parts and rendered.max_article_id <= chat.cursor_article_id:
            return None  # nothing to send and nothing to move
        return DigestRequest(
            chat_id=chat.id,
            kind="instant",
            slot_key=slot,
            parts=rendered.parts,
            max_article_id=rendered.max_article_id,
            next_digest_at=None,
            last_digest_at=now if rendered.parts else None,
            cursor_from=chat.cursor_article_id,
        )

    # ---- selection and rendering ------------------------------------------------------

    async def _candidates(self, chats: Sequence[Chat], now: datetime) -> tuple[Article, ...]:
        """One query for the whole batch: the union of topics and the earliest since.

        Every article above the lowest cursor of the batch, whatever its story: an
        article above a chat's cursor may have joined a story below it, and is shown
        as an update.
        """
        topics = sorted({topic for chat in chats for topic in chat.followed})
        if not topics:
            return ()
        articles = await self._store.articles.candidates(
            topics,
            after_id=min(chat.cursor_article_id for chat in chats),
            since=min(self._since(chat, now) for chat in chats),
            limit=CANDIDATE_LIMIT,
        )
        return tuple(articles)

    @staticmethod
    def _since(chat: Chat, now: datetime) -> datetime:
        if chat.last_digest_at is None:
            return now - FIRST_DIGEST_LOOKBACK
        return chat.last_digest_at - SINCE_MARGIN

    def _cached_render(
        self,
        chat: Chat,
        pool: Sequence[Article],
        now: datetime,
        *,
        at: datetime | None,
        title: str | None,
    ) -> Rendered:
        since = self._since(chat, now)
        key = DigestKey(
            topics=frozenset(chat.followed),
            include_words=chat.include_words,
            exclude_words=chat.exclude_words,
            cursor=chat.cursor_article_id,
            since=since,
            timezone=chat.timezone,
            language=chat.language,
            at=at,
            title=title,
            newest=max((a.id for a in pool), default=0),
        )
        return self._memo.digest(
            key,
            lambda: self._render(
                chat,
                fetched_since(pool, since),
                chat.cursor_article_id,
                at=at,
                title=title,
                now=now,
            ),
        )

    def _due_slots(self, chat: Chat, now: datetime) -> tuple[datetime, datetime] | None:
        if chat.next_digest_at is None:
            return None
        key: ScheduleKey = (chat.next_digest_at, chat.digest_times, chat.timezone, chat.digest_days)
        return self._memo.schedule(key, lambda: _due_slots(chat, now))

    def _render(
        self,
        chat: Chat,
        articles: Sequence[Article],
        cursor: int,
        *,
        at: datetime | None,
        title: str | None,
        now: datetime,
        footer: str | None = None,
    ) -> Rendered:
        plan = plan_digest(
            articles,
            topics=chat.followed,
            catalogue=self._catalogue,
            include_words=chat.include_words,
            exclude_words=chat.exclude_words,
            cursor_article_id=cursor,
            per_topic=self._settings.stories_per_topic,
        )
        parts = render_digest(
            plan,
            tz=chat.timezone,
            title=title,
            link_preview=self._settings.delivery.link_preview,
            at=at,
            now=now,
            footer=footer,
            more_data=_more_data(plan, cursor, self._since(chat, now)),
            lang=chat.language,
        )
        return Rendered(
            parts=tuple(_part(p) for p in parts),
            story_count=plan.story_count,
            max_article_id=plan.max_article_id,
        )


def _more_data(plan: DigestPlan, cursor: int, since: datetime) -> MoreData:
    """The callback data of each cut section's "+K more" button (see ``digest.expand``)."""

    def data(section: Section) -> str | None:
        request = MoreRequest(
            section.topic_id, cursor, plan.max_article_id, len(section.stories), since
        )
        return request.to_data()

    return data


def _part(rendered: RenderedPart) -> Part:
    """A rendered message as the outbox stores it: buttons as Bot API JSON, one a row."""
    if not rendered.buttons:
        return Part(rendered.text, rendered.disable_preview)
    rows = [[{"text": label, "callback_data": data}] for label, data in rendered.buttons]
    return Part(rendered.text, rendered.disable_preview, json.dumps({"inline_keyboard": rows}))


def _due_slots(chat: Chat, now: datetime) -> tuple[datetime, datetime] | None:
    """(slot to deliver now, next slot) for a due chat, or None if its schedule is unusable."""
    if chat.next_digest_at is None:
        return None
    try:
        return coalesce_missed(
            chat.next_digest_at, chat.digest_times, chat.timezone, now, chat.digest_days
        )
    except (ValueError, KeyError) as err:  # no times, bad time text, unknown zone
        log.debug("schedule of chat %s unusable: %s", chat.id, err)
        return None


def _with_topics(chat: Chat, topics: Sequence[str]) -> Chat:
    """The chat as if it followed only ``topics`` (a welcome covers just the new ones)."""
    return replace(chat, topics=tuple(topics), own_feeds=())


def _local_date(moment: datetime, chat: Chat) -> str:
    try:
        return moment.astimezone(ZoneInfo(chat.timezone)).date().isoformat()
    except (ValueError, KeyError):
        return moment.date().isoformat()


def _bounded(key: str) -> str:
    """``key`` if it fits the slot_key column, else a prefix plus a hash of the whole key."""
    if len(key) <= SLOT_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: SLOT_KEY_MAX - 17]}#{digest}"
