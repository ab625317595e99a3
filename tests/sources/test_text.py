"""Text cleaning: headlines, HTML to text, boilerplate, datelines, summaries."""

from __future__ import annotations

import pytest

from bot.sources.boilerplate import is_furniture, remove_dateline, strip_boilerplate
from bot.sources.text import (
    clean_headline,
    final_summary,
    html_to_text,
    make_summary,
    safe_text,
    split_sentences,
    summary_from_html,
    trim_furniture,
)
from tests.conftest import DATA_DIR

TNIE_STORY = DATA_DIR / "articles" / "tnie-world-2018-11-15-russia-japan.txt"


# --- clean_headline ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&amp;T buys Time Warner", "AT&T buys Time Warner"),
        ("AT&amp;amp;T buys Time Warner", "AT&T buys Time Warner"),
        ("Tom & Jerry", "Tom & Jerry"),
        ("x < y and y > z", "x < y and y > z"),
        ("<b>Bold</b>   news\n\tline", "Bold news line"),
        ("Putin&#8217;s &quot;offer&quot;", 'Putin’s "offer"'),
        ("Hello<script>alert('x')</script> world", "Hello world"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Budget passed", "Budget passed"),
        ("Caf&eacute;\u00a0closes", "Café closes"),
        ("\u200bZero width", "Zero width"),
        ("", ""),
    ],
)
def test_clean_headline(raw: str, expected: str) -> None:
    assert clean_headline(raw) == expected


# --- html_to_text --------------------------------------------------------------


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    markup = (
        "<div><p>First  paragraph &amp; more.</p><script>var x = '<p>no</p>';</script>"
        "<style>p { color: red }</style><p>Second<br>line</p></div>"
    )
    assert html_to_text(markup) == "First paragraph & more.\n\nSecond\nline"


def test_html_to_text_decodes_double_escaped_entities_and_escaped_html() -> None:
    assert html_to_text("<p>Fish &amp;amp; chips</p>") == "Fish & chips"
    assert html_to_text("&lt;p&gt;Escaped &lt;b&gt;HTML&lt;/b&gt;&lt;/p&gt;") == "Escaped HTML"


def test_html_to_text_plain_text_keeps_blank_line_paragraphs() -> None:
    assert html_to_text("One  line.\n\n\nTwo & three.") == "One line.\n\nTwo & three."


def test_html_to_text_drops_captions() -> None:
    markup = "<figure><img src='a.jpg'><figcaption>Photo | AP</figcaption></figure><p>Body.</p>"
    assert html_to_text(markup) == "Body."


# --- strip_boilerplate ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ministers met on Monday. Continue reading...", "Ministers met on Monday."),
        ("Ministers met on Monday.\n\nContinue reading…", "Ministers met on Monday."),
        (
            "A new law passed.\n\nThe post Law passed appeared first on Example News.",
            "A new law passed.",
        ),
        ("A new law passed. The post Law passed appeared first on X.", "A new law passed."),
        ("Rain is coming. Read more", "Rain is coming."),
        ("Rain is coming.\n\nRead More »", "Rain is coming."),
        ("Rain is coming to the coast […]", "Rain is coming to the coast"),
        ("Rain is coming [...]", "Rain is coming"),
        ("Storm hits. (Click here to get our newsletter.)", "Storm hits."),
        ("Storm hits.\n\nfacebook twitter whatsapp flipboard", "Storm hits."),
        ("Storm hits the city. flipboard facebook twitter whatsapp", "Storm hits the city."),
        (
            "Storm hits.\n\nStay up to date with all the latest news from Example. "
            "Download our app",
            "Storm hits.",
        ),
        ("Storm hits.\n\nDisclaimer : We respect your thoughts and views!", "Storm hits."),
    ],
)
def test_strip_boilerplate(text: str, expected: str) -> None:
    assert strip_boilerplate(text) == expected


def test_strip_boilerplate_keeps_news_that_mentions_share_sites() -> None:
    text = (
        "Facebook and Twitter were fined on Monday.\n\nWhatsApp said it would appeal.\n\n"
        "Users moved to rivals WhatsApp, Telegram."
    )
    assert strip_boilerplate(text) == text


def test_strip_boilerplate_on_real_page_text() -> None:
    cleaned = strip_boilerplate(TNIE_STORY.read_text(encoding="utf-8"))
    for junk in ("Disclaimer", "Stay up to date", "flipboard", "Click to Subscribe", "views"):
        assert junk not in cleaned
    assert cleaned.endswith("does not freeze in winter.")
    assert "SINGAPORE: Russia and Japan have agreed" in cleaned


# --- remove_dateline -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SINGAPORE: Russia and Japan agreed.", "Russia and Japan agreed."),
        ("NEW DELHI, Nov 15 (Reuters) - India said.", "India said."),
        ("LONDON — Britain said.", "Britain said."),
        ("WASHINGTON (AP) — The Senate voted.", "The Senate voted."),
        ("Berlin (dpa) - Die Regierung hat.", "Die Regierung hat."),
        ("NEW YORK, Dec. 5, 2023 /PRNewswire/ -- Acme said.", "Acme said."),
        ("SÃO PAULO: Brazil said.", "Brazil said."),
    ],
)
def test_remove_dateline(text: str, expected: str) -> None:
    assert remove_dateline(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The minister said: we will act.",
        "Russia and Japan agreed - finally.",
        "US-China talks - no deal yet.",
        "In London — and elsewhere — prices rose.",
    ],
)
def test_remove_dateline_leaves_ordinary_sentences(text: str) -> None:
    assert remove_dateline(text) == text


# --- sentences and summaries ---------------------------------------------------


def test_split_sentences_respects_abbreviations_and_decimals() -> None:
    text = (
        "Mr. Smith flew to the U.S. on Monday. He paid $3.5 million, Dr. Jones said. "
        'John F. Kennedy was cited. "It works!" she said. Approx. five came.'
    )
    assert split_sentences(text) == [
        "Mr. Smith flew to the U.S. on Monday.",
        "He paid $3.5 million, Dr. Jones said.",
        "John F. Kennedy was cited.",
        '"It works!" she said.',
        "Approx. five came.",
    ]


def test_make_summary_short_text_is_unchanged() -> None:
    assert make_summary("Short   text.\n\nTwo.") == "Short text. Two."


def test_make_summary_cuts_at_sentence_boundary_within_limit() -> None:
    sentence = "Mr. Abe met Mr. Putin in the U.S. capital on Wednesday for 2.5 hours. "
    summary = make_summary(sentence * 10, limit=300)
    assert summary.endswith("hours.")
    assert len(summary) <= 300
    assert summary == " ".join([sentence.strip()] * 4)  # 4 x 69 chars + spaces; 5 would not fit
    assert " ".join(split_sentences(summary)) == summary


def test_make_summary_keeps_slightly_long_first_sentence_whole() -> None:
    first = "word " * 70 + "end."  # 354 chars, under 300 * 1.3
    assert make_summary(first + " Next sentence.", limit=300) == first


def test_make_summary_cuts_very_long_sentence_at_word_with_ellipsis() -> None:
    text = "alpha beta gamma delta " * 40
    summary = make_summary(text, limit=100)
    assert summary.endswith("…")
    assert len(summary) <= 101
    body = summary.removesuffix("…")
    assert text.startswith(body)
    assert text[len(body)] == " "  # never cut mid-word


def test_summary_from_html_pipeline() -> None:
    markup = (
        "<p>SINGAPORE: Russia and Japan have agreed to accelerate talks.</p>"
        "<p>The post Talks appeared first on Example.</p>"
        "<p>flipboard facebook twitter whatsapp</p>"
    )
    assert summary_from_html(markup) == "Russia and Japan have agreed to accelerate talks."


def test_summary_of_real_story_body_has_no_boilerplate() -> None:
    text = TNIE_STORY.read_text(encoding="utf-8")
    body = text[text.index("SINGAPORE:") :]
    summary = summary_from_html(body)
    assert summary.startswith("Russia and Japan have agreed to accelerate talks")
    assert summary.endswith(".")
    assert 200 <= len(summary) <= 300
    for junk in ("Disclaimer", "Stay up to date", "flipboard", "SINGAPORE"):
        assert junk not in summary


def test_split_sentences_reads_the_next_sentence_start() -> None:
    text = 'He said so. "Next one." approx. five (more) here! (Then) this. the end'
    assert split_sentences(text) == [
        "He said so.",
        '"Next one." approx. five (more) here!',
        "(Then) this. the end",
    ]
    assert " ".join(split_sentences(text)) == text


# --- hygiene: one rule for every text from outside ----------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NUL\x00 and ESC\x1b[31m", "NUL and ESC[31m"),
        ("bell\x07 del\x7f c1\x9b", "bell del c1"),
        ("tab\tand\nnewline\r\n kept", "tab\tand\nnewline\r\n kept"),
        ("\u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d", "evil iso "),
        ("half \ud800 surrogate", "half \ufffd surrogate"),
        ("caf\u00e9 \u05e9\u05dc\u05d5\u05dd \u200f", "caf\u00e9 \u05e9\u05dc\u05d5\u05dd \u200f"),
    ],
)
def test_safe_text_removes_controls_and_bidi_overrides(raw: str, expected: str) -> None:
    assert safe_text(raw) == expected


def test_headlines_and_summaries_go_through_the_hygiene_rule() -> None:
    assert clean_headline("A\x00B \u202eC\x1b") == "AB C"
    assert summary_from_html("<p>One\x00 two\u2066.</p>") == "One two."


# --- furniture at the edges, the final summary ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Read more: Ten things to know about the budget",
        "Copyright 2026 Example Media. All rights reserved.",
        "© Example News 2026",
        "Advertisement",
        "SKIP ADVERTISEMENT",
        "Sign up for our morning newsletter.",
        "Follow us on Instagram for more.",
        "By Jane Doe",
        "By Arun Kumar, Express News Service",
        "Jane Moreno is a senior correspondent covering rural economies.",
        "Photo: Reuters",
        "(Reporting by Kirsty Needham; Editing by Michael Perry)",
        "Updated: 5 Dec 2026, 09:14 IST",
        "Share this article on",
        "3 min read",
    ],
)
def test_furniture_sentences(text: str) -> None:
    assert is_furniture(text)


@pytest.mark.parametrize(
    "text",
    [
        "Copyright law does not protect images made by software.",
        "Advertisement spending will grow 6% next year.",
        "By Tuesday the river had fallen.",
        "by the end of the year, prices rose.",
        "Photographers gathered outside the court.",
        "The editor is a former minister, officials said.",
        "Sign up rates for the scheme doubled, the ministry said.",
    ],
)
def test_news_is_not_furniture(text: str) -> None:
    assert not is_furniture(text)


def test_trim_furniture_only_at_the_edges() -> None:
    text = (
        "Photo: AP. GENEVA: Talks resumed on Monday. Follow us on X for updates.\n\n"
        "Delegates met for six hours.\n\nSign up for our newsletter."
    )
    assert trim_furniture(text) == (
        "Talks resumed on Monday. Follow us on X for updates.\n\nDelegates met for six hours."
    )


def test_final_summary_never_repeats_the_headline() -> None:
    headline = "Markets close higher on bank earnings"
    assert final_summary(headline, headline) == ""
    assert final_summary(f"{headline}.", headline) == ""
    assert final_summary(f"{headline} Banks led the gains.", headline) == "Banks led the gains."
    assert final_summary("Banks led. Tech fell. Oil rose. Gold slipped.", "X") == (
        "Banks led. Tech fell. Oil rose."  # at most three sentences
    )


def test_a_closing_news_sentence_about_bulletins_is_kept() -> None:
    text = "Storms are coming. Get ready: the weather bulletin warns of floods."
    assert trim_furniture(text) == text
