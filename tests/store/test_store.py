"""The store's contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from bot.store import Store, open_store
from bot.store.articles import ArticleInput
from bot.store.migrate import current_revision
from bot.store.records import ChatKey, DigestRequest, Part
from bot.store.sources import PollRecord

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store whose clock stands still at NOW, so "ready now" means ready at NOW."""
    opened = await open_store(database_url, clock=lambda: NOW)
    yield opened
    await opened.close()


def item(n: int, *, topics: tuple[str, ...] = ("world",), guid: str | None = None) -> ArticleInput:
    return ArticleInput(
        url=f"https://news.example/world/{n}",
        headline=f"Headline {n}",
        summary=f"Summary {n}.",
        published_at=NOW - timedelta(minutes=n),
        topics=topics,
        guid=guid,
    )


async def new_chat(store: Store, telegram_id: int = 42, thread_id: int = 0) -> int:
    chat = await store.chats.ensure(
        ChatKey(telegram_id, thread_id),
        kind="private",
        title="Alice",
        timezone="Asia/Kolkata",
        digest_times=["08:00"],
        next_digest_at=NOW,
    )
    return chat.id


async def one_source(store: Store) -> int:
    [source] = await store.sources.sync([("Wire", "https://news.example/rss", "feed")])
    return source.id


async def test_migrations_create_schema_from_nothing(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        assert await current_revision(store.engine) == "0006"
        async with store.engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"chats", "subscriptions", "sources", "articles", "article_topics"} <= names
        assert {"digests", "deliveries", "bodies", "bot_state"} <= names
    finally:
        await store.close()
    again = await open_store(database_url)  # second start: already current, no error
    assert await current_revision(again.engine) == "0006"
    await again.close()


async def test_chat_ensure_is_idempotent_and_keeps_settings(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.chats.update(chat_id, timezone="Europe/Berlin", digest_times=("07:00", "19:00"))
    again = await store.chats.ensure(
        ChatKey(42),
        kind="private",
        title="x",
        timezone="UTC",
        digest_times=["08:00"],
        next_digest_at=None,
    )
    assert again.id == chat_id
    assert again.timezone == "Europe/Berlin"
    assert again.digest_times == ("07:00", "19:00")
    assert again.next_digest_at == NOW
    assert again.next_digest_at.tzinfo is not None


async def test_forum_threads_are_separate_subscribers(store: Store) -> None:
    group = await new_chat(store, -100, 0)
    thread = await new_chat(store, -100, 7)
    assert group != thread
    await store.chats.add_topics(thread, ["world"])
    assert (await store.chats.get(ChatKey(-100, 7))).topics == ("world",)
    assert (await store.chats.get(ChatKey(-100, 0))).topics == ()


async def test_subscribe_and_unsubscribe(store: Store) -> None:
    chat_id = await new_chat(store)
    assert await store.chats.add_topics(chat_id, ["world", "india"]) == ("world", "india")
    assert await store.chats.add_topics(chat_id, ["world", "sport"]) == ("sport",)
    assert await store.chats.remove_topics(chat_id, ["india", "nope"]) == ("india",)
    assert set((await store.chats.get_by_id(chat_id)).topics) == {"world", "sport"}
    assert set(await store.chats.remove_topics(chat_id, None)) == {"world", "sport"}
    assert (await store.chats.get_by_id(chat_id)).topics == ()


async def test_delete_chat_erases_everything(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.chats.add_topics(chat_id, ["world"])
    await store.outbox.enqueue([request(chat_id, "s1", ("hello",))])
    await store.chats.delete(chat_id)
    assert await store.chats.get_by_id(chat_id) is None
    assert await store.outbox.for_chat(chat_id) == []
    assert await store.chats.count_by_topic() == {}


async def test_migrate_moves_group_with_settings(store: Store) -> None:
    chat_id = await new_chat(store, -5, 0)
    await store.chats.add_topics(chat_id, ["world"])
    assert await store.chats.migrate(-5, -1005) == 1
    moved = await store.chats.get(ChatKey(-1005))
    assert moved is not None and moved.id == chat_id and moved.topics == ("world",)
    assert moved.kind == "supergroup"
    assert await store.chats.get(ChatKey(-5)) is None


async def test_due_chats(store: Store) -> None:
    due = await new_chat(store, 1)
    later = await new_chat(store, 2)
    paused = await new_chat(store, 3)
    await store.chats.update(later, next_digest_at=NOW + timedelta(hours=1))
    await store.chats.update(paused, is_paused=True)
    assert [c.id for c in await store.chats.due(NOW)] == [due]


async def test_articles_store_once_and_update(store: Store) -> None:
    source_id = await one_source(store)
    first = await store.articles.store(source_id, [item(1), item(2, guid="g2")], NOW)
    assert [s.status for s in first] == ["new", "new"]
    changed = replace(item(2, guid="g2"), headline="Better headline")
    again = await store.articles.store(source_id, [item(1), changed], NOW)
    assert sorted(s.status for s in again) == ["unchanged", "updated"]
    assert await store.articles.count() == 2
    found = await store.articles.search(["better"])
    assert [a.headline for a in found] == ["Better headline"]
    assert found[0].source_name == "Wire" and found[0].published_at.tzinfo is not None


async def test_same_guid_new_url_is_an_update_not_a_duplicate(store: Store) -> None:
    source_id = await one_source(store)
    await store.articles.store(source_id, [item(1, guid="same")], NOW)
    moved = replace(item(1, guid="same"), url="https://news.example/x")
    [result] = await store.articles.store(source_id, [moved], NOW)
    assert result.status == "unchanged"
    assert await store.articles.count() == 1


async def test_candidates_by_topic_above_the_cursor(store: Store) -> None:
    source_id = await one_source(store)
    stored = await store.articles.store(source_id, [item(1), item(2, topics=("india",))], NOW)
    ids = [s.article_id for s in stored]
    # As ingestion does: the grouper's answer joins the new article to an earlier story.
    [joined] = await store.articles.store(
        source_id,
        [item(3, topics=("world", "india"))],
        NOW,
        group=lambda new: {new[0].article_id: ids[0]},
    )
    ids.append(joined.article_id)
    world = await store.articles.candidates(["world"], after_id=0, since=NOW - timedelta(days=1))
    assert {a.id for a in world} == {ids[0], ids[2]}
    assert {a.id: a.cluster_id for a in world} == {ids[0]: ids[0], ids[2]: ids[0]}
    newer = await store.articles.candidates(
        ["world", "india"], after_id=ids[0], since=NOW - timedelta(days=1)
    )
    # Above the cursor: the new story, and id 3 that joined an older one (an update).
    assert {a.id for a in newer} == {ids[1], ids[2]}


async def test_prune_old_articles(store: Store) -> None:
    source_id = await one_source(store)
    await store.articles.store(source_id, [item(1), item(600)], NOW)
    assert await store.articles.prune(NOW - timedelta(hours=2)) == 1
    assert await store.articles.count() == 1


async def test_source_fetch_state_survives_reopen(database_url: str) -> None:
    store = await open_store(database_url)
    source_id = await one_source(store)
    later = NOW + timedelta(minutes=5)
    await store.sources.record_polls(
        [PollRecord(source_id, polled_at=NOW, next_poll_at=later, etag='"abc"', last_modified="x")]
    )
    await store.sources.record_polls(
        [PollRecord(source_id, polled_at=NOW, next_poll_at=later, error="HTTP 500")]
    )
    await store.close()
    reopened = await open_store(database_url)
    source = await reopened.sources.get(source_id)
    assert source.etag == '"abc"' and source.error_count == 1 and source.last_error == "HTTP 500"
    assert source.next_poll_at == later
    assert await reopened.sources.due(NOW) == []
    await reopened.close()


def request(chat_id: int, slot: str, texts: tuple[str, ...], cursor: int = 9) -> DigestRequest:
    return DigestRequest(
        chat_id=chat_id,
        kind="scheduled",
        slot_key=slot,
        parts=tuple(Part(t) for t in texts),
        max_article_id=cursor,
        next_digest_at=NOW + timedelta(days=1),
        last_digest_at=NOW,
    )


async def test_enqueue_is_idempotent_and_moves_cursor(store: Store) -> None:
    chat_id = await new_chat(store)
    assert await store.outbox.enqueue([request(chat_id, "s1", ("a", "b"))]) == 1
    assert await store.outbox.enqueue([request(chat_id, "s1", ("a", "b"))]) == 0
    parts = await store.outbox.for_chat(chat_id)
    assert [(p.part_no, p.text, p.status) for p in parts] == [
        (1, "a", "pending"),
        (2, "b", "pending"),
    ]
    chat = await store.chats.get_by_id(chat_id)
    assert chat.cursor_article_id == 9 and chat.next_digest_at == NOW + timedelta(days=1)


async def test_claim_send_and_reap(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.outbox.enqueue([request(chat_id, "s1", ("a", "b"))])
    [digest] = await store.outbox.claim("w1", now=NOW, lease_seconds=60)
    assert [d.part_no for d in digest] == [1, 2] and digest[0].telegram_id == 42
    assert await store.outbox.claim("w2", now=NOW, lease_seconds=60) == []
    first, second = digest[0].id, digest[1].id
    assert await store.outbox.mark_progress("w1", sending=[first]) == ({first}, set())
    # not its lease:
    assert await store.outbox.mark_progress("w2", sending=[first]) == (set(), set())
    assert await store.outbox.mark_progress("w1", sent={first: 77}) == (set(), {first})
    assert await store.outbox.mark_progress("w1", sending=[second]) == ({second}, set())
    # w1 dies here: part 2 is mid-send, so after the lease it is 'unknown'.
    assert await store.outbox.reap(NOW + timedelta(minutes=5)) == (0, 1)
    statuses = [(p.status, p.telegram_message_id) for p in await store.outbox.for_chat(chat_id)]
    assert statuses == [("sent", 77), ("unknown", None)]


async def test_expired_lease_never_attempted_goes_back_to_pending(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.outbox.enqueue([request(chat_id, "s1", ("a",))])
    await store.outbox.claim("w1", now=NOW, lease_seconds=60)
    assert await store.outbox.reap(NOW + timedelta(minutes=5)) == (1, 0)
    [again] = await store.outbox.claim("w2", now=NOW + timedelta(minutes=5), lease_seconds=60)
    assert again[0].lease_owner == "w2"


async def test_inactive_chat_is_not_claimed_and_retry_later(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.outbox.enqueue([request(chat_id, "s1", ("a",))])
    [[part]] = await store.outbox.claim("w", now=NOW, lease_seconds=60)
    await store.outbox.retry_later(part.id, "w", NOW + timedelta(seconds=30), "429")
    assert await store.outbox.claim("w", now=NOW, lease_seconds=60) == []
    await store.chats.update(chat_id, is_active=False)
    assert await store.outbox.claim("w", now=NOW + timedelta(minutes=1), lease_seconds=60) == []
    assert await store.outbox.fail_chat(chat_id, "blocked") == 1
    assert (await store.outbox.counts()) == {"failed": 1}


async def test_same_text_is_stored_once(store: Store) -> None:
    a, b = await new_chat(store, 1), await new_chat(store, 2)
    await store.outbox.enqueue([request(a, "s1", ("same",)), request(b, "s1", ("same",))])
    from sqlalchemy import func, select

    from bot.store.schema import bodies

    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(bodies))).scalar() == 1


async def test_state_values(store: Store) -> None:
    assert await store.state.get("k") is None
    await store.state.set_time("k", NOW)
    await store.state.set_time("k", NOW + timedelta(hours=1))
    assert await store.state.get_time("k") == NOW + timedelta(hours=1)


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1)])
async def test_naive_datetimes_are_refused(store: Store, bad: datetime) -> None:
    chat_id = await new_chat(store)
    with pytest.raises(Exception, match="naive"):
        await store.chats.update(chat_id, next_digest_at=bad)


async def test_enqueue_counts_new_digests_and_never_adds_parts_to_old_ones(store: Store) -> None:
    chats = [await new_chat(store, n) for n in range(1, 6)]
    assert await store.outbox.enqueue([request(c, "s1", ("a",)) for c in chats]) == 5
    # A second planner rendered the same slot into two parts: nothing is added.
    again = [request(c, "s1", ("a", "b")) for c in chats] + [request(chats[0], "s2", ("c",))]
    assert await store.outbox.enqueue(again) == 1
    assert [p.text for p in await store.outbox.for_chat(chats[0])] == ["a", "c"]
    assert [p.text for p in await store.outbox.for_chat(chats[1])] == ["a"]


async def test_mark_progress_marks_only_the_owners_leased_parts_sending(store: Store) -> None:
    a, b = await new_chat(store, 1), await new_chat(store, 2)
    await store.outbox.enqueue([request(a, "s1", ("a1", "a2")), request(b, "s1", ("b1",))])
    [a1] = await store.outbox.claim("w1", now=NOW, lease_seconds=60, max_digests=1)
    [[b1]] = await store.outbox.claim("w2", now=NOW, lease_seconds=60)
    assert a1[0].chat_id == a
    ids = [a1[0].id, a1[1].id, b1.id]

    assert await store.outbox.mark_progress("w1", sending=ids) == ({a1[0].id, a1[1].id}, set())
    # no longer 'leased':
    assert await store.outbox.mark_progress("w1", sending=ids) == (set(), set())
    parts = await store.outbox.for_chat(a)
    assert [(p.status, p.attempts) for p in parts] == [("sending", 1), ("sending", 1)]
    assert [p.status for p in await store.outbox.for_chat(b)] == ["leased"]


async def test_mark_progress_records_each_message_id_under_the_lease(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.outbox.enqueue([request(chat_id, "s1", ("a", "b", "c"))])
    [parts] = await store.outbox.claim("w1", now=NOW, lease_seconds=60)
    p1, p2, p3 = (p.id for p in parts)
    await store.outbox.mark_progress("w1", sending=[p1, p2])

    _, recorded = await store.outbox.mark_progress("w1", sent={p1: 2_200_000_000, p2: 12, p3: 13})
    _, again = await store.outbox.mark_progress("w1", sent={p1: 99})  # already sent: unchanged

    assert recorded == {p1, p2} and again == set()
    stored = await store.outbox.for_chat(chat_id)
    assert [(p.status, p.telegram_message_id) for p in stored] == [
        ("sent", 2_200_000_000),
        ("sent", 12),
        ("leased", None),  # never marked 'sending', so not recorded as sent
    ]
    assert stored[0].sent_at == NOW and stored[0].lease_owner is None


async def test_mark_progress_commits_sent_and_sending_together(store: Store) -> None:
    chat_id = await new_chat(store)
    await store.outbox.enqueue([request(chat_id, "s1", ("a", "b"))])
    [[p1, p2]] = await store.outbox.claim("w1", now=NOW, lease_seconds=60)
    assert await store.outbox.mark_progress("w1", sending=[p1.id]) == ({p1.id}, set())

    ours, recorded = await store.outbox.mark_progress("w1", sending=[p2.id], sent={p1.id: 7})
    assert (ours, recorded) == ({p2.id}, {p1.id})
    assert await store.outbox.mark_progress("w2", sending=[p2.id]) == (set(), set())
    # The crash window: p2 stays 'sending' until its own 'sent' is committed.
    assert await store.outbox.reap(NOW + timedelta(minutes=5)) == (0, 1)
    stored = await store.outbox.for_chat(chat_id)
    assert [(p.status, p.telegram_message_id) for p in stored] == [("sent", 7), ("unknown", None)]


async def test_due_chats_carry_their_times_words_and_topics(store: Store) -> None:
    plain, wordy = await new_chat(store, 1), await new_chat(store, 2)
    await store.chats.update(
        wordy,
        digest_times=("07:30", "19:00"),
        include_words=("New York", "हिंदी"),
        exclude_words=("sport",),
    )
    await store.chats.add_topics(wordy, ["world", "tech"])

    by_id = {c.id: c for c in await store.chats.due(NOW)}

    assert by_id[plain].digest_times == ("08:00",) and by_id[plain].include_words == ()
    chat = by_id[wordy]
    assert chat.digest_times == ("07:30", "19:00")
    assert chat.include_words == ("New York", "हिंदी") and chat.exclude_words == ("sport",)
    assert set(chat.topics) == {"world", "tech"}
    assert chat == await store.chats.get_by_id(wordy)


async def test_enqueue_moves_many_chats_by_group_and_never_moves_a_cursor_back(
    store: Store,
) -> None:
    chats = [await new_chat(store, n) for n in range(1, 21)]
    await store.outbox.enqueue([request(c, "s1", ("a",), cursor=9) for c in chats])
    later = NOW + timedelta(days=2)
    # Same values for all 20 chats (one grouped UPDATE), then an older cursor and no new time.
    again = [replace(request(c, "s2", ("b",), cursor=5), next_digest_at=later) for c in chats]
    await store.outbox.enqueue(again)
    unchanged = [replace(request(c, "s3", (), cursor=7), next_digest_at=None) for c in chats]
    await store.outbox.enqueue(unchanged)

    for chat_id in chats:
        chat = await store.chats.get_by_id(chat_id)
        assert chat is not None
        assert (chat.cursor_article_id, chat.next_digest_at) == (9, later)
        assert [p.text for p in await store.outbox.for_chat(chat_id)] == ["a", "b"]


async def test_a_loaded_chat_has_every_field_in_its_place(store: Store) -> None:
    chat_id = await new_chat(store, 77, thread_id=5)
    await store.chats.update(
        chat_id,
        mode="scheduled",
        is_paused=False,
        digest_times=("06:15",),
        include_words=("rain",),
        exclude_words=("sport",),
        next_digest_at=NOW - timedelta(minutes=1),
        last_digest_at=NOW - timedelta(days=1),
    )
    await store.chats.add_topics(chat_id, ["world"])

    [chat] = [c for c in await store.chats.due(NOW) if c.id == chat_id]

    assert (chat.telegram_id, chat.thread_id, chat.kind, chat.title) == (77, 5, "private", "Alice")
    assert (chat.timezone, chat.mode, chat.is_paused, chat.is_active) == (
        "Asia/Kolkata",
        "scheduled",
        False,
        True,
    )
    assert (chat.digest_times, chat.include_words, chat.exclude_words, chat.topics) == (
        ("06:15",),
        ("rain",),
        ("sport",),
        ("world",),
    )
    assert (chat.next_digest_at, chat.last_digest_at) == (
        NOW - timedelta(minutes=1),
        NOW - timedelta(days=1),
    )
    assert chat.cursor_article_id == 0 and chat.created_at == NOW
