"""The fake Telegram Bot API, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from .telegram import FakeTelegram, RateLimits, Window

TOKEN = "123:ABC"
ALICE = 1001
BOB = 1002
GROUP = -100500
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        fake.private_chat(ALICE, "Alice")
        fake.group(GROUP, "World news", admins={BOB}, members={ALICE})
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=tg.api_base_url) as client:
        yield client


@pytest.fixture
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB warns (an error here) when RetryAfter is built or read.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def build_app(tg: FakeTelegram) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(tg.api_base_url)
        .base_file_url(tg.file_base_url)
        .build()
    )


async def run_polling(app: Application, until: asyncio.Future[object]) -> None:  # type: ignore[type-arg]
    async with app:
        await app.updater.start_polling(poll_interval=0)  # type: ignore[union-attr]
        await app.start()
        try:
            await until
        finally:
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()


# ---- basics -----------------------------------------------------------------


async def test_get_me_returns_the_bot_user(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "newsbot_test_bot"
    assert me.first_name == "NewsBot"


async def test_send_message_returns_a_message_dated_now_in_seconds(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    first = await bot.send_message(ALICE, "hello")
    second = await bot.send_message(ALICE, "again", disable_notification=True)
    now = dtm.datetime.now(dtm.UTC)
    assert abs((now - first.date).total_seconds()) < 5
    assert second.message_id == first.message_id + 1
    assert first.chat.id == ALICE and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == tg.bot_user["id"]
    assert [m.text for m in tg.messages_to(ALICE)] == ["hello", "again"]
    assert tg.sent[1].disable_notification is True


async def test_send_message_to_a_forum_topic_echoes_the_thread(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    forum = tg.group(-100777, "Topics", admins={BOB}, forum=True)
    message = await bot.send_message(forum, "in topic", message_thread_id=12)
    assert message.message_thread_id == 12
    assert message.is_topic_message
    assert [m.thread_id for m in tg.messages_to(forum, thread_id=12)] == [12]
    assert tg.messages_to(forum, thread_id=None) == []


async def test_unknown_chat_is_not_found(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999_999, "anyone?")


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=tg.api_base_url):
            pass


async def test_unknown_method_is_404_and_json_bodies_work(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=f"{tg.api_base_url}{TOKEN}") as client:
        missing = await client.post("/noSuchMethod")
        sent = await client.post("/sendMessage", json={"chat_id": ALICE, "text": "via json"})
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert sent.json()["result"]["text"] == "via json"


# ---- Telegram's text checks ---------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<b>never closed",
        "<b><i>crossed</b></i>",
        "stray </b> end",
        "1 < 2",
        "AT&T",
        "&nbsp;",
        "<span>plain span</span>",
        "<br/>",
    ],
)
async def test_invalid_html_is_rejected(bot: telegram.Bot, html: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(ALICE, html, parse_mode="HTML")


async def test_valid_html_is_accepted_with_entities_in_utf16(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    html = (
        '😀 <b>Bold</b> <a href="https://e.x/?a=1&amp;b=2">link</a> &lt;&gt;&quot;&#39;&#x27; '
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">p</span> <i><u>iu</u></i> '
        '<pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote>"
    )
    message = await bot.send_message(ALICE, html, parse_mode="HTML")
    assert message.text is not None and message.text.startswith("😀 Bold link <>\"'' sp iu x = 1 q")
    bold = message.entities[0]
    assert (bold.type, bold.offset, bold.length) == ("bold", 3, 4)  # the emoji is 2 units
    link = message.entities[1]
    assert link.url == "https://e.x/?a=1&b=2"
    assert [e.language for e in message.entities if e.type == "pre"] == ["python"]
    types = {entity.type for entity in message.entities}
    assert {"spoiler", "italic", "underline", "pre", "expandable_blockquote"} <= types
    assert tg.sent[-1].text == html  # the raw text is kept for assertions


@pytest.mark.parametrize(
    ("text", "is_accepted"),
    [
        ("a" * 4096, True),
        ("a" * 4097, False),
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2048 + "a", False),
        ("é" * 4096, True),  # one unit each
    ],
)
async def test_length_limit_counts_utf16_code_units(
    bot: telegram.Bot, text: str, is_accepted: bool
) -> None:
    if is_accepted:
        assert (await bot.send_message(ALICE, text)).text == text
        return
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, text)


async def test_length_is_measured_after_entity_parsing(bot: telegram.Bot) -> None:
    await bot.send_message(ALICE, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "&amp;" * 4097, parse_mode="HTML")


async def test_text_empty_after_parsing_is_rejected(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")


# ---- limits and faults --------------------------------------------------------


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_private_chat_flood_limit_raises_retry_after(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.limits = True
    await bot.send_message(ALICE, "one")
    await bot.send_message(ALICE, "two")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALICE, "three")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert tg.rejected_429 == 1
    assert [m.text for m in tg.messages_to(ALICE)] == ["one", "two"]


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_group_allows_20_messages_a_minute(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.limits = True
    for number in range(20):
        await bot.send_message(GROUP, f"news {number}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "one too many")
    assert dtm.timedelta(seconds=55) <= caught.value.retry_after <= dtm.timedelta(seconds=60)


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_overall_limit_spans_chats(bot: telegram.Bot) -> None:
    async with FakeTelegram(
        token=TOKEN, limits=True, rate_limits=RateLimits(overall=Window(5, 1.0))
    ) as limited:
        chats = [limited.private_chat(user_id) for user_id in range(1, 7)]
        async with telegram.Bot(TOKEN, base_url=limited.api_base_url) as other_bot:
            for chat_id in chats[:5]:
                await other_bot.send_message(chat_id, "hi")
            with pytest.raises(RetryAfter):
                await other_bot.send_message(chats[5], "hi")
    assert len(limited.sent) == 5
    assert limited.rejected_429 == 1


@pytest.mark.usefixtures("timedelta_retry_after")
async def test_forced_429_counts_down(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.faults.force_429(ALICE, retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALICE, "hi")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(ALICE, "third time lucky")
    assert tg.rejected_429 == 2


async def test_blocked_deactivated_and_gone_chats(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.faults.block(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    tg.faults.deactivated(ALICE)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(ALICE, "hi")
    tg.faults.not_found(GROUP)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(GROUP, "hi")
    tg.faults.clear(ALICE)
    await bot.send_message(ALICE, "welcome back")
    assert [m.text for m in tg.sent] == ["welcome back"]


async def test_dropped_connection_raises_network_error(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.faults.drop_connection(ALICE)
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "lost before sending")
    tg.faults.drop_connection(ALICE, after_send=True)
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "delivered but unanswered")
    await bot.send_message(ALICE, "fine again")
    assert [m.text for m in tg.sent] == ["delivered but unanswered", "fine again"]


async def test_slow_answer_times_out_but_the_message_was_sent(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    tg.faults.slow(ALICE, 1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(ALICE, "ambiguous", read_timeout=0.2)
    assert [m.text for m in tg.sent] == ["ambiguous"]


async def test_migrated_group_answers_chat_migrated(tg: FakeTelegram, bot: telegram.Bot) -> None:
    old = tg.group(-4001, "Old group", admins={BOB}, supergroup=False)
    await tg.migrate_group(old, -100_4001)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(old, "hi")
    assert caught.value.new_chat_id == -100_4001
    await bot.send_message(-100_4001, "hi there")
    updates = await bot.get_updates(timeout=0)
    assert [u.effective_message.migrate_to_chat_id for u in updates[:1]] == [-100_4001]  # type: ignore[union-attr]
    assert updates[1].effective_message.migrate_from_chat_id == old  # type: ignore[union-attr]


# ---- updates ------------------------------------------------------------------


async def test_get_updates_long_polls_and_honours_offset(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)
    assert not poll.done()  # held open: nothing to deliver yet
    await tg.send_text(GROUP, ALICE, "/digest@newsbot_test_bot world")
    updates = await poll
    assert time.monotonic() - started < 2
    message = updates[0].message
    assert message is not None and message.text == "/digest@newsbot_test_bot world"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/digest@newsbot_test_bot")
    assert (await bot.get_updates(timeout=0))[0].update_id == updates[0].update_id
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_a_second_poller_ends_the_first_with_conflict(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with telegram.Bot(TOKEN, base_url=tg.api_base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_reply_to_a_missing_message_is_rejected(tg: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(ALICE, "re: nothing", reply_to_message_id=77)
    original = await bot.send_message(ALICE, "original")
    reply = await bot.send_message(ALICE, "re: original", reply_to_message_id=original.message_id)
    assert reply.text == "re: original"


async def test_get_updates_returns_empty_after_timeout(bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_application_answers_start_command(tg: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        await update.effective_message.reply_text(f"Hello {user.first_name}")  # type: ignore[union-attr]

    app = build_app(tg)
    app.add_handler(CommandHandler("start", start))
    done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    polling = asyncio.create_task(run_polling(app, done))
    try:
        await tg.send_text(ALICE, ALICE, "/start")
        await tg.send_text(GROUP, BOB, "/start@newsbot_test_bot")
        assert [m.text for m in await tg.wait_for_messages(ALICE)] == ["Hello Alice"]
        assert [m.text for m in await tg.wait_for_messages(GROUP)] == [f"Hello User{BOB}"]
    finally:
        done.set_result(None)
        await polling


async def test_callback_query_round_trip(tg: FakeTelegram) -> None:
    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"got {query.data}")
        await query.edit_message_text(f"You chose {query.data}")

    app = build_app(tg)
    app.add_handler(CallbackQueryHandler(pressed))
    done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    polling = asyncio.create_task(run_polling(app, done))
    try:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("World", callback_data="t:w")]])
        sent = await app.bot.send_message(ALICE, "Pick a topic", reply_markup=keyboard)
        assert tg.sent[0].reply_markup == keyboard.to_dict()
        await tg.press_button(ALICE, ALICE, sent.message_id, "t:w")
        await tg.wait_until(lambda: len(tg.edits) == 1, timeout=5)
    finally:
        done.set_result(None)
        await polling
    assert [a.text for a in tg.callback_answers] == ["got t:w"]
    assert (tg.edits[0].message_id, tg.edits[0].text) == (sent.message_id, "You chose t:w")
    with pytest.raises(ValueError, match="no button"):
        await tg.press_button(ALICE, ALICE, sent.message_id, "t:unknown")


# ---- other methods ------------------------------------------------------------


async def test_edit_without_change_is_not_modified(tg: FakeTelegram, bot: telegram.Bot) -> None:
    message = await bot.send_message(ALICE, "<b>same</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("<b>same</b>", ALICE, message.message_id, parse_mode="HTML")
    edited = await bot.edit_message_text("new", ALICE, message.message_id)
    assert edited.text == "new"  # type: ignore[union-attr]
    assert await bot.delete_message(ALICE, message.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("newer", ALICE, message.message_id)


async def test_commands_members_and_chat_info(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("topics", "Choose topics")])
    assert [c["command"] for c in tg.my_commands] == ["start", "topics"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "topics"]
    assert (await bot.get_chat_member(GROUP, BOB)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, ALICE)).status == "member"
    assert (await bot.get_chat_member(ALICE, ALICE)).status == "member"
    chat = await bot.get_chat(GROUP)
    assert (chat.title, chat.type) == ("World news", "supergroup")
    assert await bot.send_chat_action(ALICE, "typing")
    assert await bot.delete_my_commands()
    assert tg.my_commands == []


async def test_commands_for_one_chat_need_a_known_chat(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("admin", "Operator")], scope=telegram.BotCommandScopeChat(ALICE))
    assert [c["command"] for c in tg.commands_for_chat(ALICE) or []] == ["admin"]
    assert tg.my_commands == []  # the default scope is another menu
    assert tg.commands_for_chat(BOB) is None
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([("admin", "Operator")], scope=telegram.BotCommandScopeChat(4242))
    scoped = await bot.get_my_commands(scope=telegram.BotCommandScopeChat(ALICE))
    assert [c.command for c in scoped] == ["admin"]


async def test_wait_for_messages_fails_clearly(tg: FakeTelegram) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 message\(s\) to chat 1001"):
        await tg.wait_for_messages(ALICE, timeout=0.2)


# ---- other ways to run it -----------------------------------------------------


async def test_run_in_thread_serves_another_loop() -> None:
    handle = FakeTelegram.run_in_thread(token=TOKEN)
    try:
        handle.fake.private_chat(ALICE)
        async with telegram.Bot(TOKEN, base_url=f"{handle.base_url}/bot") as client:
            await client.send_message(ALICE, "from another loop")
        handle.call(handle.fake.send_text(ALICE, ALICE, "/start"))
        assert [m.text for m in handle.fake.sent] == ["from another loop"]
        assert len(handle.fake.pending_updates) == 1
    finally:
        handle.stop()


async def test_module_runs_standalone() -> None:
    repo = REPO_ROOT
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram",
        "--port",
        "0",
        "--auto-chats",
        cwd=repo,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        line = (await asyncio.wait_for(server.stdout.readline(), 20)).decode()
        base_url = line.rsplit(" ", 1)[-1].strip()
        async with telegram.Bot(TOKEN, base_url=f"{base_url}/bot") as client:
            message = await client.send_message(4242, "any chat works with --auto-chats")
        assert message.chat.id == 4242
    finally:
        server.terminate()
        await server.wait()
