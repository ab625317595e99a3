"""Rendering digests as Telegram HTML: golden files plus structural checks.

Golden files live in tests/digest/data/<case>.html; regenerate them with
NEWSBOT_REGEN_GOLDEN=1 and read the diff before committing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from bot.digest.content import DigestPlan, RenderedPart, Section, Story, Updates
from bot.digest.render import (
    render_digest,
    render_story_list,
    safe_url,
    utf16_len,
)
from bot.digest.select import MY_FEEDS, MY_FEEDS_NAME
from bot.store.records import Article
from tests.conftest import DATA_DIR
from tests.fakes.telegram_html import EntityParseError, parse_html

DATA = DATA_DIR / "digest"
REGENERATE = os.environ.get("NEWSBOT_REGEN_GOLDEN") == "1"
KOLKATA = "Asia/Kolkata"
TELEGRAM_LIMIT = 4096  # sendMessage text, in UTF-16 code units
DIGEST_AT = datetime(2018, 11, 16, 2, 30, tzinfo=UTC)  # 16 Nov 08:00 in Kolkata
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}

SEED_HEADLINE = (
    "World War II finally ends: Russia and Japan to accelerate peace treaty talks stalled by "
    "island row"
)
SEED_SUMMARY = (
    "The two countries are still technically at war, with neither side historically prepared "
    "to budge on a row over the ownership of the islands seized by Russia in the closing days "
    "of the conflict."
)
SEED_URL = (
    "https://www.newindianexpress.com/world/2018/nov/15/world-war-ii-finally-ends-russia-and-"
    "japan-to-accelerate-peace-treaty-talks-stalled-by-island-row-1898826.html"
)


def article(
    id: int,
    headline: str,
    *,
    summary: str = "",
    source: str = "The New Indian Express",
    url: str | None = None,
    published_at: datetime = datetime(2018, 11, 15, 13, 46, tzinfo=UTC),
) -> Article:
    return Article(
        id=id,
        source_id=abs(hash(source)) % 1000,
        source_name=source,
        guid=None,
        url=url if url is not None else f"https://news.example/{id}",
        headline=headline,
        summary=summary,
        published_at=published_at,
        fetched_at=published_at,
        cluster_id=id,
        topics=("world",),
    )


def seed_article() -> Article:
    return article(1, SEED_HEADLINE, summary=SEED_SUMMARY, url=SEED_URL)


def one_section(*stories: Story, more: int = 0, name: str = "World news") -> DigestPlan:
    section = Section("world", name, stories, more_count=more)
    return DigestPlan((section,), max(s.article.id for s in stories))


# --- checks every rendering must pass ----------------------------------------------


class _TagChecker(HTMLParser):
    """Collects problems: unknown tags, bad attributes, unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        names = [name for name, _ in attrs]
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if names != ["href"] or urlsplit(href).scheme not in ("http", "https"):
                self.problems.append(f"bad link {attrs!r}")
        elif attrs:
            self.problems.append(f"attributes on <{tag}>: {attrs!r}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}> with open {self.stack!r}")
        else:
            self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")


def assert_valid_part(part: RenderedPart) -> None:
    """Within the length limit, only Telegram's tags, balanced, parseable by Telegram's rules."""
    assert 0 < utf16_len(part.text) <= TELEGRAM_LIMIT
    checker = _TagChecker()
    checker.feed(part.text)
    checker.close()
    assert checker.problems == []
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    visible = parse_html(part.text).text  # raises like Telegram's "can't parse entities"
    assert visible.strip()


def check_golden(case: str, parts: list[RenderedPart]) -> None:
    """Compare with tests/digest/data/<case>.html (or write it when regenerating)."""
    for part in parts:
        assert_valid_part(part)
    text = "".join(
        f"<!-- part {n} of {len(parts)}; disable_preview={p.disable_preview}; "
        f"utf16={utf16_len(p.text)} -->\n{p.text}\n"
        + "".join(f"<!-- button: {label} -> {data} -->\n" for label, data in p.buttons)
        for n, p in enumerate(parts, start=1)
    )
    path = DATA / f"{case}.html"
    if REGENERATE:
        DATA.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


# --- golden cases --------------------------------------------------------------------


def test_golden_two_topic_digest_with_seed_story() -> None:
    bbc = "BBC News"
    world = Section(
        "world",
        "World news",
        (
            Story(seed_article(), also=("Reuters", bbc)),
            Story(
                article(
                    2,
                    "Brexit deal: Theresa May faces cabinet resignations",
                    summary="Two cabinet ministers quit over the draft withdrawal agreement.",
                    source=bbc,
                    published_at=datetime(2018, 11, 15, 10, 5, tzinfo=UTC),
                )
            ),
        ),
        more_count=4,
    )
    business = Section(
        "business",
        "Business",
        (
            Story(
                article(
                    3,
                    "Rupee gains 30 paise against US dollar",
                    summary="The rupee rose on easing crude prices.",
                    published_at=datetime(2018, 11, 15, 4, 40, tzinfo=UTC),
                )
            ),
        ),
    )
    plan = DigestPlan((world, business), max_article_id=3)
    parts = render_digest(
        plan, tz=KOLKATA, title="Your news digest", at=DIGEST_AT, link_preview="top"
    )
    check_golden("two_topics", parts)
    assert len(parts) == 1
    text = parts[0].text
    # Times are relative to the digest (16 Nov 08:00 in Kolkata), the zone named once.
    assert f'<a href="{SEED_URL}">The New Indian Express</a> · yesterday 19:16' in text
    assert f"<b>{SEED_HEADLINE}</b>" in text
    assert "<i>also covered by Reuters, BBC News</i>" in text
    assert "<i>+4 more in World news</i>" in text
    assert text.startswith("<b>Your news digest</b> · Fri 16 Nov 08:00 · Asia/Kolkata (UTC+05:30)")
    assert text.count("Asia/Kolkata") == 1
    assert text.index("World news") < text.index("Business")


def test_golden_hostile_text() -> None:
    stories = (
        Story(
            article(
                1,
                "<script>alert(1)</script>",
                summary="AT&T & Co buy <b>everything",
                source="Evil <i>Outlet",
                url="javascript:alert(document.cookie)",
            ),
            also=("<b>Bold & Co", '"Quotes" Daily'),
        ),
        Story(
            article(
                2,
                "AT&T & Co &amp; &#x27; &lt;not a tag&gt;",
                summary="Ends with an open <a href='x'>",
                url='https://news.example/a?b=1&c="><script>alert(1)</script>',
            )
        ),
        Story(article(3, "Data link", url="data:text/html,<b>x</b>")),
        Story(article(4, "Uppercase scheme", url="  JAVASCRIPT:alert(1)")),
    )
    plan = one_section(*stories, name="World <news> & more")
    parts = render_digest(plan, tz=KOLKATA, title="<i>Digest</i>")
    check_golden("hostile", parts)
    text = parts[0].text
    assert "<script>" not in text
    assert "javascript" not in text.lower()
    assert "data:" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "AT&amp;T &amp; Co" in text
    assert "&amp;amp;" in text  # an escaped entity in a feed stays literal text
    assert 'href="https://news.example/a?b=1&amp;c=&quot;&gt;&lt;script&gt;' in text
    visible = parse_html(text)
    assert "<script>alert(1)</script>" in visible.text
    links = [e["url"] for e in visible.entities if e["type"] == "text_link"]
    assert links == ['https://news.example/a?b=1&c="><script>alert(1)</script>']


def test_golden_rtl_and_emoji() -> None:
    stories = (
        Story(
            article(
                1,
                "مصر تفتتح أكبر متحف أثري في العالم",
                summary="افتتح المتحف المصري الكبير أبوابه للزوار اليوم.",
                source="الأهرام",
                url="https://ahram.example/مقال/1",
            ),
            also=("BBC عربي",),
        ),
        Story(
            article(
                2,
                "שלום עולם: ישראל משיקה לוויין חדש 🛰️",
                summary="הלוויין שוגר בהצלחה. Mission success!",
                source="הארץ",
            )
        ),
        Story(
            article(
                3,
                "Family day 👨‍👩‍👧‍👦 in 🇮🇳 and 🇯🇵",
                summary="Emoji 😀👍🏽 count twice in UTF-16 😀.",
                source="Emoji Times 🗞️",
            )
        ),
    )
    plan = one_section(*stories, name="🌍 World news")
    parts = render_digest(plan, tz="Asia/Jerusalem", title="חדשות · أخبار")
    check_golden("rtl_emoji", parts)
    assert "Family day 👨‍👩‍👧‍👦 in 🇮🇳 and 🇯🇵" in parts[0].text
    assert 'href="https://ahram.example/مقال/1"' in parts[0].text


def big_plan() -> DigestPlan:
    """Three topics of twelve stories with long summaries and non-BMP characters."""
    sections = []
    for number, name in enumerate(("World news", "India", "Business"), start=1):
        stories = tuple(
            Story(
                article(
                    number * 100 + i,
                    f"{name} story {i}: leaders meet as talks resume 🌐",
                    summary=" ".join(f"Sentence {j} of story {i} in {name} 📈." for j in range(10)),
                    published_at=datetime(2018, 11, 15, 12, 0, tzinfo=UTC) - timedelta(minutes=i),
                ),
                also=("Reuters", "BBC News") if i % 3 == 0 else (),
            )
            for i in range(12)
        )
        sections.append(Section(name.lower(), name, stories, more_count=number))
    return DigestPlan(tuple(sections), max_article_id=400)


def test_golden_large_digest_splits_into_parts() -> None:
    plan = big_plan()
    parts = render_digest(plan, tz=KOLKATA, title="Your news digest", at=DIGEST_AT)
    check_golden("large_split", parts)
    assert len(parts) >= 3
    joined = "".join(part.text for part in parts)
    for section in plan.sections:
        for story in section.stories:
            assert joined.count(f"<b>{escape(story.article.headline)}</b>") == 1
        assert joined.count(f"+{section.more_count} more in {section.topic_name}") == 1
    assert "<b><u>India (cont.)</u></b>" in joined or "<b><u>World news (cont.)</u></b>" in joined
    assert parts[0].text.startswith("<b>Your news digest</b>")
    assert all("Your news digest" not in part.text for part in parts[1:])


def test_golden_gigantic_story_is_cut_cleanly() -> None:
    words = " ".join(f"word{i} AT&T <tag{i}> «quoted» 🙂" for i in range(600))
    giant = Story(article(1, SEED_HEADLINE, summary=words, url=SEED_URL), also=("Reuters",))
    after = Story(article(2, "A normal story after the giant"))
    parts = render_digest(one_section(giant, after), tz=KOLKATA)
    check_golden("gigantic_story", parts)
    assert len(parts) == 2
    first = parts[0].text
    assert utf16_len(first) > TELEGRAM_LIMIT - 60  # the cut uses the room there is
    summary_line = first.split("\n")[3]
    assert summary_line.endswith("…")
    assert summary_line.removesuffix("…")[-1] != " "
    assert "The New Indian Express</a> · 15 Nov, 19:16" in first
    assert "also covered by Reuters" in first
    assert "A normal story after the giant" in parts[1].text
    assert parts[1].text.startswith("<b><u>World news (cont.)</u></b>")


def test_golden_story_list() -> None:
    articles = [seed_article(), article(2, "Second result", summary="Another story.")]
    parts = render_story_list(articles, KOLKATA, 'Results for "island row"')
    check_golden("story_list", parts)
    assert parts[0].text.startswith("<b><u>Results for &quot;island row&quot;</u></b>\n\n")


# --- behaviour -----------------------------------------------------------------------


def test_golden_updates_follow_the_sections_one_line_each() -> None:
    story = Story(article(7, "Cabinet backs new rail plan", summary="The plan adds 40 trains."))
    updates = Updates(
        (
            article(
                12,
                "Rail plan: unions <welcome> it & ask for more",
                source="Reuters",
                published_at=datetime(2018, 11, 15, 15, 0, tzinfo=UTC),
            ),
            article(11, "Rail plan costs revealed", source="BBC News", url="javascript:x"),
        ),
        more_count=2,
    )
    plan = DigestPlan((Section("world", "World news", (story,)),), 12, updates)
    parts = render_digest(plan, tz=KOLKATA, title="Your news digest", at=DIGEST_AT)
    check_golden("updates", parts)
    [part] = parts
    assert part.text.index("World news") < part.text.index("<b><u>Updates</u></b>")
    assert "<i>+2 more updates</i>" in part.text


def test_updates_alone_are_a_digest_and_split_within_the_limit() -> None:
    many = tuple(article(100 + n, "Follow-up " + "word " * 150) for n in range(12))
    parts = render_digest(DigestPlan((), 111, Updates(many)), tz=KOLKATA)
    assert len(parts) > 1
    for part in parts:
        assert_valid_part(part)
    assert parts[1].text.startswith("<b><u>Updates (cont.)</u></b>")


def test_utf16_len_counts_code_units() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("👨‍👩‍👧") == 8
    assert utf16_len("मराठी") == 5


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x?y=1&z=2", "https://a.example/x?y=1&z=2"),
        ("  http://a.example/  ", "http://a.example/"),
        ("HTTPS://A.EXAMPLE/", "HTTPS://A.EXAMPLE/"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,hi", None),
        ("ftp://a.example/", None),
        ("//a.example/x", None),
        ("/relative/path", None),
        ("http://", None),
        ("https://a.example/\nx", None),
        ("https://[bad", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_story_without_safe_link_shows_source_name_only() -> None:
    parts = render_digest(one_section(Story(article(1, "X", url="javascript:x"))), tz=KOLKATA)
    assert "<a " not in parts[0].text
    assert "The New Indian Express · 15 Nov, 19:16" in parts[0].text


def test_times_show_in_the_chat_zone() -> None:
    plan = one_section(Story(seed_article()))
    assert "· 15 Nov, 19:16" in render_digest(plan, tz=KOLKATA)[0].text
    assert "· 15 Nov, 08:46" in render_digest(plan, tz="America/New_York")[0].text
    assert "· 16 Nov, 02:46" in render_digest(plan, tz="Pacific/Auckland")[0].text


def test_no_header_without_title() -> None:
    text = render_digest(one_section(Story(seed_article())), tz=KOLKATA)[0].text
    assert text.startswith("<b><u>World news</u></b>\n\n<b>World War II")


def test_header_without_time() -> None:
    text = render_digest(one_section(Story(seed_article())), tz=KOLKATA, title="Top")[0].text
    assert text.startswith("<b>Top</b>\n\n")


def test_empty_plan_renders_nothing() -> None:
    assert render_digest(DigestPlan((), max_article_id=5), tz=KOLKATA) == []
    assert render_story_list([], KOLKATA, "Nothing") == []


@pytest.mark.parametrize(
    ("mode", "expected"), [("off", [True] * 4), ("top", [False, True, True, True])]
)
def test_link_preview_only_on_first_part(mode: str, expected: list[bool]) -> None:
    parts = render_digest(big_plan(), tz=KOLKATA, link_preview=mode)  # type: ignore[arg-type]
    assert [p.disable_preview for p in parts][:4] == expected


def test_no_part_ends_with_a_heading_alone() -> None:
    for part in render_digest(big_plan(), tz=KOLKATA, title="Digest"):
        last_block = part.text.split("\n\n")[-1]
        assert not last_block.startswith("<b><u>")


def test_summary_with_no_spaces_is_cut_without_breaking_emoji() -> None:
    family = "👨‍👩‍👧‍👦"
    text = "新闻" * 1000 + family * 500 + "🇮🇳" * 300
    for filler in (0, 1, 3, 7):
        story = Story(article(1, "CJK", summary="字" * filler + text))
        part = render_digest(one_section(story), tz=KOLKATA)[0]
        assert_valid_part(part)
        summary = part.text.split("\n")[3].removesuffix("…")
        assert summary.startswith("字" * filler + "新闻")
        assert not summary.endswith(("\u200d", "\U0001f1ee"))
    long_family = Story(article(1, "Family", summary=family * 1000))
    summary = render_digest(one_section(long_family), tz=KOLKATA)[0].text.split("\n")[3]
    assert summary.removesuffix("…").endswith(family)


def test_gigantic_headline_is_cut_too() -> None:
    story = Story(article(1, "Headline " * 2000, summary="Summary " * 2000), also=("Reuters",))
    parts = render_digest(one_section(story), tz=KOLKATA)
    assert len(parts) == 1
    assert_valid_part(parts[0])
    assert "Headline Headline" in parts[0].text
    assert "· 15 Nov, 19:16" in parts[0].text


def test_every_part_of_many_hostile_stories_is_valid() -> None:
    nasty = '<b>&amp;&#0;&#x110000;</i>"\'<a href="javascript:x">'
    stories = tuple(
        Story(article(i, nasty * (i % 9 + 1), summary=nasty * 40, url=f"https://x.example/{i}"))
        for i in range(1, 60)
    )
    parts = render_digest(one_section(*stories), tz=KOLKATA, title=nasty)
    assert len(parts) >= 3
    for part in parts:
        assert_valid_part(part)


@pytest.mark.parametrize(
    "bad",
    [
        "<b>unclosed",
        "<script>x</script>",
        '<a href="javascript:x">x</a>',
        '<b class="x">x</b>',
        "<i>x</b>",
        "AT&T",
        "x" * (TELEGRAM_LIMIT + 1),
    ],
)
def test_part_checker_rejects_bad_html(bad: str) -> None:
    with pytest.raises((AssertionError, EntityParseError)):
        assert_valid_part(RenderedPart(bad, disable_preview=True))


# --- layout: relative times, the zone once, "+K more" buttons, footer ---------------------


def test_item_times_are_relative_to_the_digest_and_the_zone_is_named_once() -> None:
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # a Sunday
    stories = [
        Story(article(1, "Now", published_at=at - timedelta(hours=1))),
        Story(article(2, "Yesterday", published_at=datetime(2026, 12, 5, 18, 5, tzinfo=UTC))),
        Story(article(3, "This week", published_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))),
        Story(article(4, "This year", published_at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))),
        Story(article(5, "2018", published_at=datetime(2018, 11, 15, 13, 46, tzinfo=UTC))),
    ]
    text = render_digest(one_section(*stories), tz="UTC", title="Digest", at=at)[0].text
    assert text.startswith("<b>Digest</b> · Sun 6 Dec 12:00 · UTC\n")
    for when in ("· 11:00", "· yesterday 18:05", "· Wed 09:00", "· 1 Jun, 09:00"):
        assert when in text
    assert "· 15 Nov 2018, 13:46" in text  # an old story never reads as today
    assert text.count("UTC") == 1


def test_a_fixed_offset_zone_is_named_as_utc_offset() -> None:
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    plan = one_section(Story(article(1, "X", published_at=at)))
    text = render_digest(plan, tz="Etc/GMT+5", title="Digest", at=at)[0].text
    assert text.startswith("<b>Digest</b> · Sun 6 Dec 07:00 · UTC-05:00\n")
    assert "GMT+5" not in text


def test_cut_sections_get_more_buttons_instead_of_lines() -> None:
    plan = big_plan()
    asked: list[str] = []

    def more_data(section: Section) -> str:
        asked.append(section.topic_id)
        return f"more:{section.topic_id}"

    parts = render_digest(
        plan, tz=KOLKATA, title="Your news digest", at=DIGEST_AT, more_data=more_data
    )
    check_golden("more_buttons", parts)
    assert asked == [s.topic_id for s in plan.sections if s.more_count]
    buttons = [button for part in parts for button in part.buttons]
    assert buttons == [
        (f"+{s.more_count} more in {s.topic_name}", f"more:{s.topic_id}")
        for s in plan.sections
        if s.more_count
    ]
    assert all(" more in " not in part.text for part in parts)
    # A section's button sits under the message that holds the section's last story.
    for part in parts:
        for label, data in part.buttons:
            section = next(s for s in plan.sections if data == f"more:{s.topic_id}")
            assert escape(section.stories[-1].article.headline) in part.text, label


def test_without_button_data_a_cut_section_keeps_its_line() -> None:
    parts = render_digest(big_plan(), tz=KOLKATA, more_data=lambda _section: None)
    assert all(part.buttons == () for part in parts)
    assert "more in World news</i>" in "".join(part.text for part in parts)


def test_footer_is_the_last_line() -> None:
    plan = one_section(Story(seed_article()))
    parts = render_digest(plan, tz=KOLKATA, title="Welcome", footer="Your next digest: <soon>")
    assert parts[-1].text.endswith("\n\n<i>Your next digest: &lt;soon&gt;</i>")


def test_a_digest_in_russian_has_russian_words_and_dates() -> None:
    now = datetime(2018, 11, 16, 9, 0, tzinfo=UTC)
    own = Section(MY_FEEDS, MY_FEEDS_NAME, (Story(article(2, "Blog post", source="")),), 3)
    plan = DigestPlan((own,), 2, Updates((article(3, "Later news"),), more_count=2))

    parts = render_digest(
        plan, tz="Europe/Moscow", title="Ваш дайджест", at=now, now=now, lang="ru"
    )

    text = parts[0].text
    assert text.startswith("<b>Ваш дайджест</b> · пт 16 нояб. 12:00 · Europe/Moscow (UTC+03:00)")
    assert "<b><u>Мои ленты</u></b>" in text and "<b><u>Обновления</u></b>" in text
    assert "источник</a> · вчера 16:46" in text  # no outlet name: "source", in Russian
    assert "<i>+3 материала в теме Мои ленты</i>" in text
    assert "<i>+2 обновления</i>" in text
    assert_valid_part(parts[0])
