"""``newsbot shell``: the real handlers, typed at through stdin, answered on stdout.

The in-process runs use :func:`run_shell` with injected streams; one test runs
``python -m bot shell`` as a subprocess with piped stdin, as a newcomer would.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.app import run_shell
from bot.cli import build_parser
from bot.settings import Settings, TopicConfig
from bot.shell.console import NO_REPLY_TEXT, offline_settings
from bot.shell.samples import load_sample_articles, seed_sample_articles
from bot.shell.stand_in import ShellRequest
from bot.shell.terminal import ANSI_RESET, Terminal, html_to_terminal, keyboard_lines
from bot.store import open_store
from bot.store.articles import ArticleInput

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_HEADLINE = (
    "World War II finally ends: Russia and Japan to accelerate peace treaty talks "
    "stalled by island row"
)
CATALOGUE = [
    TopicConfig(id="world", name="World news", aliases=["world", "international"]),
    TopicConfig(id="india", name="India"),
    TopicConfig(id="business", name="Business"),
    TopicConfig(id="technology", name="Technology"),
    TopicConfig(id="science", name="Science"),
    TopicConfig(id="sport", name="Sport"),
    TopicConfig(id="entertainment", name="Entertainment"),
]


def shell_settings() -> Settings:
    return Settings(topics=CATALOGUE, sources=[], database_url="sqlite:///never/used.db")


async def chat(*lines: str) -> tuple[int, str]:
    """Type ``lines`` into a fresh shell, then end the input; (exit code, everything shown)."""
    stdout = io.StringIO()
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    code = await run_shell(shell_settings(), stdin=stdin, stdout=stdout)
    return code, stdout.getvalue()


def turns(output: str) -> list[tuple[str, str]]:
    """The transcript as (what the user typed, what the shell showed next), in order."""
    chunks = output.split("you> ")[1:]
    return [tuple(chunk.split("\n", 1)) if "\n" in chunk else (chunk, "") for chunk in chunks]


def after(output: str, typed: str) -> str:
    """What the shell showed after the first time the user typed ``typed``."""
    return next(shown for line, shown in turns(output) if line == typed)


# ---- the conversation -------------------------------------------------------------------


async def test_start_shows_greeting_and_numbered_keyboard() -> None:
    code, output = await chat("/start")
    assert code == 0
    reply = after(output, "/start")
    assert reply.startswith("bot> 👋 Hi! I send you short digests")
    assert "[1] World news  [2] India" in reply
    assert "[8] Done" in reply


async def test_pressing_a_number_toggles_the_topic() -> None:
    _, output = await chat("/start", "2", "2")
    (_, start), (_, pressed), (_, pressed_again) = turns(output)[:3]
    assert "✅" not in start
    assert "(notice: Following India)" in pressed
    assert "[1] World news  [2] ✅ India" in pressed
    assert "(notice: Stopped following India)" in pressed_again
    assert "[1] World news  [2] India" in pressed_again


async def test_readme_walkthrough_subscribe_then_digest() -> None:
    _, output = await chat("/subscribe world news", "/digest")
    subscribed = after(output, "/subscribe world news")
    assert "You now follow World news" in subscribed
    assert "bot> 👋 Welcome digest: the last 24 hours of World news · UTC" in subscribed
    assert "UN agencies warn of worsening hunger" in subscribed
    # Links read "text <url>" and the outlet is named; summaries carry no dateline.
    assert "Sample news <https://sample-news.example/world/" in subscribed
    assert "GENEVA:" not in subscribed and "SUVA:" not in subscribed
    assert "Your next digest: " in subscribed
    # Only World stories: nothing of a topic the chat does not follow.
    assert "box-office" not in subscribed
    # The 2018 story is no news of today: not in the welcome.
    assert SEED_HEADLINE not in subscribed
    digest = after(output, "/digest")
    assert digest.startswith("bot> Nothing new since your last digest at ")
    assert "Your next digest: " in digest and "/digest before then shows what is new." in digest


async def test_the_2018_sample_story_shows_with_its_date() -> None:
    _, output = await chat("/search Russia Japan")
    found = after(output, "/search Russia Japan")
    assert SEED_HEADLINE in found
    assert "The New Indian Express <https://www.newindianexpress.com/world/2018/nov/15/" in found
    assert "· 15 Nov 2018, 13:46" in found


async def test_two_outlets_reports_of_one_event_are_one_entry_also_covered_by() -> None:
    _, output = await chat("/subscribe world news", "/digest")
    shown = after(output, "/subscribe world news") + after(output, "/digest")
    first = "Iceland volcano erupts near Grindavik, lava flows toward town"
    second = "Volcano on Iceland's Reykjanes peninsula erupts again, lava heads for Grindavik"
    assert (first in shown) != (second in shown)  # one entry for the two reports
    entry = shown[shown.index(first if first in shown else second) :]
    also = "also covered by Sample wire" if first in shown else "also covered by Sample news"
    assert also in re.split(r"\n\s*\n", entry, maxsplit=1)[0]  # in that entry, not another


async def test_help_lists_the_commands() -> None:
    _, output = await chat("/help")
    reply = after(output, "/help")
    for command in ("/start", "/subscribe", "/digest", "/schedule", "/stop"):
        assert f"{command} — " in reply


async def test_bad_input_gets_a_helpful_reply() -> None:
    _, output = await chat("/subscribe nonsense", "/frobnicate", "hello", "42")
    assert "No topic 'nonsense'." in after(output, "/subscribe nonsense")
    assert "/help" in after(output, "/frobnicate")
    assert NO_REPLY_TEXT in after(output, "hello")
    assert "There are no buttons to press" in after(output, "42")


async def test_button_number_out_of_range_says_which_are_valid() -> None:
    _, output = await chat("/topics", "99")
    assert "Pick a button from 1 to 8." in after(output, "99")


async def test_quit_ends_before_later_lines() -> None:
    code, output = await chat("/quit", "/help")
    assert code == 0
    assert "What I can do" not in output


def test_subprocess_shell_exits_zero_at_end_of_input(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_CONFIG"] = str(REPO_ROOT / "config" / "newsbot.toml")
    env["NEWSBOT_LOG_LEVEL"] = "WARNING"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input="/start\n1\n/search Russia Japan\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env here, and nothing to write into the repository
        env=env,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[1] ✅ World news" in done.stdout
    assert SEED_HEADLINE in done.stdout
    assert "sample stories" in done.stdout  # no configured database here: the samples
    assert "\033[" not in done.stdout  # piped output is plain text


# ---- pieces -------------------------------------------------------------------------------


def test_offline_settings_never_use_the_configured_database(tmp_path: Path) -> None:
    configured = Settings(database_url="postgresql://prod@db/newsbot", topics=CATALOGUE)
    offline = offline_settings(configured, tmp_path / "shell.db")
    assert offline.database_url == f"sqlite:///{tmp_path / 'shell.db'}"
    assert offline.require_token()
    assert offline.topics == configured.topics
    assert configured.database_url == "postgresql://prod@db/newsbot"


def test_html_becomes_terminal_text() -> None:
    html = '<b>Top &amp; news</b>\n<a href="https://x.example/a">Source</a> · <i>also</i>'
    plain = html_to_terminal(html, is_styled=False)
    assert plain == "Top & news\nSource <https://x.example/a> · also"
    styled = html_to_terminal(html, is_styled=True)
    assert styled.startswith("\033[1mTop & news" + ANSI_RESET)
    assert "\033[3malso" in styled


def test_nested_styles_and_quotes() -> None:
    styled = html_to_terminal("<b><u>World</u> news</b>", is_styled=True)
    # Closing <u> resets and re-opens bold, so " news" stays bold.
    assert styled == f"\033[1m\033[4mWorld{ANSI_RESET}\033[1m news{ANSI_RESET}"
    quoted = html_to_terminal("<blockquote>one\ntwo</blockquote>", is_styled=False)
    assert quoted == "│ one\n│ two"
    bare = html_to_terminal('<a href="https://x.example/">https://x.example/</a>', is_styled=False)
    assert bare == "https://x.example/"


def test_keyboard_buttons_are_numbered_in_reading_order() -> None:
    markup = {
        "inline_keyboard": [
            [
                {"text": "✅ World news", "callback_data": "a"},
                {"text": "India", "callback_data": "b"},
            ],
            [{"text": "Done", "callback_data": "c"}],
        ]
    }
    assert keyboard_lines(markup) == ["[1] ✅ World news  [2] India", "[3] Done"]
    assert keyboard_lines(None) == []


async def test_shell_request_answers_a_real_bot() -> None:
    stdout = io.StringIO()
    request = ShellRequest(Terminal(stdout, is_styled=False))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="stop:yes")]])
    async with Bot("1:x", request=request) as bot:
        sent = await bot.send_message(
            5, "<b>Sure?</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )
        assert request.last_keyboard is not None
        await bot.edit_message_text("Done.", chat_id=5, message_id=sent.message_id)
        assert request.last_keyboard is None  # an edit without markup drops the buttons
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("Done.", chat_id=5, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(5, "x" * 4097)
        member = await bot.get_chat_member(5, 1001)
        assert member.status == "administrator"
        assert (await bot.get_chat(5)).type == "private"
        await bot.answer_callback_query("q1", text="Following India")
    assert "bot> Sure?\n     [1] Yes\n" in stdout.getvalue()
    assert "bot> (edited) Done.\n" in stdout.getvalue()
    assert "(notice: Following India)" in stdout.getvalue()
    # Every call is recorded, refused ones too; only accepted messages are kept.
    assert len(request.calls_to("sendMessage")) == 2
    assert list(request.messages) == [(5, sent.message_id)]


async def test_samples_hold_the_seed_story_and_are_recent(tmp_path: Path) -> None:
    samples = load_sample_articles()
    assert 20 <= len(samples) <= 30
    seed = next(s for s in samples if s.headline == SEED_HEADLINE)
    assert seed.source == "The New Indian Express"
    assert seed.topics == ("world",)
    topics = {t for s in samples for t in s.topics}
    assert topics == {t.id for t in CATALOGUE}
    store = await open_store(f"sqlite:///{tmp_path / 'samples.db'}")
    try:
        now = datetime(2024, 5, 14, 12, 0, tzinfo=UTC)
        stored = await seed_sample_articles(store, samples, ["world", "sport"], now)
        world = await store.articles.recent(["world"], since=now - timedelta(days=1))
        sport = await store.articles.recent(["sport"], since=now - timedelta(days=1))
        business = await store.articles.recent(["business"], since=now - timedelta(days=1))
    finally:
        await store.close()
    assert stored == len(world) + len(sport) + 1  # and the 2018 story, a day older
    assert SEED_HEADLINE not in [a.headline for a in world]
    assert business == []  # not in the catalogue given: not stored
    assert all(now - timedelta(hours=12) < a.published_at <= now for a in world + sport)
    assert seed.published == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)
    # Summaries go through ingestion's summary rule: no "GENEVA:" dateline.
    hunger = next(a for a in world if a.headline.startswith("UN agencies warn"))
    assert hunger.summary.startswith("Three United Nations agencies said on Tuesday")


# ---- the configured database's stories --------------------------------------------------


async def fill_database(url: str, now: datetime) -> None:
    """A configured database as ``newsbot ingest`` leaves it: one source, two world stories."""
    store = await open_store(url)
    try:
        [source] = await store.sources.sync(
            [("Harbour Gazette", "https://gazette.example/rss", "feed")]
        )
        items = [
            ArticleInput(
                url=f"https://gazette.example/{slug}",
                headline=headline,
                summary=summary,
                published_at=now - timedelta(hours=2),
                topics=("world",),
            )
            for slug, headline, summary in (
                ("ferries", "Ferry operators add winter sailings", "Forty more crossings."),
                ("bronzes", "Museum returns looted bronzes", "Seventy pieces go home."),
            )
        ]
        await store.articles.store(source.id, items, now)
    finally:
        await store.close()


async def chat_on(database_url: str, *lines: str, samples: bool = False) -> str:
    settings = Settings(topics=CATALOGUE, sources=[], database_url=database_url)
    stdout = io.StringIO()
    stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    await run_shell(settings, stdin=stdin, stdout=stdout, samples=samples)
    return stdout.getvalue()


async def test_shell_previews_the_configured_databases_stories(database_url: str) -> None:
    url = database_url  # SQLite and PostgreSQL
    await fill_database(url, datetime.now(UTC))
    output = await chat_on(url, "/subscribe world news")
    assert output.lstrip().startswith(
        "newsbot shell: you are chatting with the bot offline, with 2 recent stories "
        "copied from the configured database (it is only read)."
    )
    shown = after(output, "/subscribe world news")
    assert "Ferry operators add winter sailings" in shown
    assert "Harbour Gazette <https://gazette.example/" in shown
    assert "Iceland volcano" not in shown  # no samples
    # Read only: the shell's chat and digests never reach the configured database.
    store = await open_store(url)
    try:
        assert await store.chats.all() == []
        assert sum((await store.outbox.counts()).values()) == 0
    finally:
        await store.close()


async def test_samples_flag_forces_the_samples(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    await fill_database(url, datetime.now(UTC))
    output = await chat_on(url, "/subscribe world news", samples=True)
    assert "sample stories" in output.split("\n", 1)[0]
    assert "Ferry operators" not in output


async def test_an_empty_database_says_the_samples_are_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    await (await open_store(url)).close()  # migrated, no articles
    output = await chat_on(url)
    lines = [line.strip() for line in output.split("\n")]
    assert "sample stories" in lines[0]
    assert lines[1] == "The configured database holds no recent stories, so these are samples."


async def test_a_catalogue_without_sample_topics_says_so() -> None:
    settings = Settings(
        topics=[TopicConfig(id="gardening", name="Gardening")],
        sources=[],
        database_url="sqlite:///never/used.db",
    )
    stdout = io.StringIO()
    await run_shell(settings, stdin=io.StringIO(""), stdout=stdout)
    assert "None of your topics is a sample topic" in stdout.getvalue()


def test_cli_has_a_samples_flag() -> None:
    assert build_parser().parse_args(["shell", "--samples"]).samples is True
    assert build_parser().parse_args(["shell"]).samples is False


async def test_more_button_in_the_shell() -> None:
    settings = Settings(
        topics=CATALOGUE, sources=[], database_url="sqlite:///never/used.db", stories_per_topic=2
    )
    stdout = io.StringIO()
    stdin = io.StringIO("/subscribe world news\n1\n1\n")
    await run_shell(settings, stdin=stdin, stdout=stdout)
    output = stdout.getvalue()
    welcome = after(output, "/subscribe world news")
    assert "[1] +3 more in World news" in welcome
    more = [shown for typed, shown in turns(output) if typed == "1"]
    assert "bot> More in World news · UTC" in more[0]
    assert "European ministers agree common rules" in welcome + more[0]
    assert "There are no buttons to press" in more[1]  # the button went with the press
