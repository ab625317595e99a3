"""Page furniture and datelines: what a news text carries that is not the story.

Pure functions of plain text (HTML is already gone: see ``text.html_to_text``).
"""

from __future__ import annotations

import re

_SHARE_WORDS = frozenset(
    {
        "facebook", "twitter", "whatsapp", "flipboard", "linkedin", "email", "e-mail", "mail",
        "reddit", "telegram", "pinterest", "share", "print", "tumblr", "pocket", "messenger",
        "koo", "sms", "copy", "link", "x", "threads", "bluesky", "google", "this", "article",
        "on", "via", "tweet", "comments", "comment", "save",
    }
)  # fmt: skip
_SHARE_BRANDS = frozenset(
    {"facebook", "twitter", "whatsapp", "flipboard", "linkedin", "reddit", "telegram", "pinterest"}
)
# Each pattern with a lower-cased text its match must contain: the regexes start
# with "\s*", which re tries at every position, so they run only when it is there.
_TAIL_PATTERNS = (
    ("continue reading", re.compile(r"\s*\bContinue reading\b.*$", re.IGNORECASE | re.DOTALL)),
    (
        "appeared first on",
        re.compile(r"\s*\bThe post\b.{1,400}?\bappeared first on\b.*$", re.DOTALL),
    ),
    (
        "read ",
        re.compile(
            r"\s*(?:\.\.\.|…)?\s*\b(?:Read|Click here to read) (?:more|the full (?:story|article)"
            r"|full (?:story|article))\b[\s.…»›>\]]*$",
            re.IGNORECASE,
        ),
    ),
    ("]", re.compile(r"\s*\[\s*(?:…|\.\.\.)\s*\]\s*$")),
    # podcast hosts append these to every episode description
    (
        "omnystudio.com/listener",
        re.compile(r"\s*\bSee omnystudio\.com/listener for privacy information\.?$", re.I),
    ),
    (
        "learn more about your ad choices.",
        re.compile(r"\s*\bLearn more about your ad choices\..*$", re.IGNORECASE | re.DOTALL),
    ),
)
# Whole lines that are buttons or labels of the page, not text.
_UI_LINES = frozenset(
    {"dismiss", "close", "advertisement", "skip advertisement", "sponsored", "loading",
     "loading...", "subscribe", "sign up", "share", "share this article", "listen", "play"}
)  # fmt: skip
_CLICK_HERE_RE = re.compile(
    r"\s*\([^()]*\b(?:click|tap) (?:here|this link)\b[^()]*\)", re.IGNORECASE
)
_PROMO_RE = re.compile(
    r"^(?:stay (?:up to date|updated|tuned)|get the (?:latest|news)|download (?:our|the)"
    r"|follow us|subscribe to our)\b.*\b(?:app|download|whatsapp|telegram|newsletter)\b",
    re.IGNORECASE | re.DOTALL,
)
_SHARE_LINE_WORD_RE = re.compile(r"[\w-]+")
_DISCLAIMER_RE = re.compile(
    r"^(?:disclaimer\s*:|the views expressed in (?:the )?comments)", re.IGNORECASE
)


def _is_share_line(line: str) -> bool:
    if len(line) >= 120:
        return False
    words = _SHARE_LINE_WORD_RE.findall(line.lower())
    return bool(words) and all(w in _SHARE_WORDS for w in words)


def _cut_trailing_share_words(line: str) -> str:
    """Drop a run of share-button words glued to the end of a line ("... flipboard facebook")."""
    if line.rpartition(" ")[2].lower() not in _SHARE_BRANDS:
        return line  # the common case: nothing to cut
    tokens = line.split(" ")
    end = len(tokens)
    while end > 0 and tokens[end - 1].lower() in _SHARE_BRANDS:  # bare words, no punctuation
        end -= 1
    return line if len(tokens) - end < 3 else " ".join(tokens[:end]).rstrip()


def _clean_line(line: str) -> str:
    if "(" in line:
        line = _CLICK_HERE_RE.sub("", line)
    line = line.strip()
    lowered = line.casefold()  # the tail patterns only cut: what they look for is in here
    for needle, pattern in _TAIL_PATTERNS:
        if needle in lowered:
            line = pattern.sub("", line).strip()
    line = _cut_trailing_share_words(line)
    if line.casefold() in _UI_LINES or _is_share_line(line):
        return ""
    if _PROMO_RE.match(line) or _DISCLAIMER_RE.match(line):
        return ""
    return line


def strip_boilerplate(text: str) -> str:
    """Remove page furniture: "Continue reading...", "The post X appeared first on Y.",
    "Read more", app promos, comment disclaimers, share-button words, "(Click here ...)"
    and a trailing "[…]". Paragraph breaks are kept.
    """
    paragraphs = []
    for block in text.split("\n\n"):
        lines = [_clean_line(line) for line in block.split("\n")]
        kept = "\n".join(line for line in lines if line)
        if kept:
            paragraphs.append(kept)
    return "\n\n".join(paragraphs)


# --- datelines ---------------------------------------------------------------

_AGENCY = r"\((?:[A-Za-z][A-Za-z.&]{1,14}|[A-Z][A-Za-z]+ [A-Z][A-Za-z]+)\)|/[A-Z][A-Za-z ]{2,30}/"
_DATELINE_RE = re.compile(
    r"^(?P<place>[^\W\d_][^\W\d_ .'’-]*(?:[ .'’-]+[^\W\d_]+){0,3}\.?)"  # place, up to 4 words
    r"(?P<date>,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?|\d{1,2}\s+[A-Z][a-z]{2,8}))?"
    rf"(?P<agency>\s*(?:{_AGENCY}))?"
    r"\s*(?P<sep>:|—|–|--|-)\s+"
)


def remove_dateline(text: str) -> str:
    """Remove a news dateline at the start: "SINGAPORE: ", "NEW DELHI, Nov 15 (Reuters) - ",
    "LONDON — ", "Berlin (dpa) - ". The place must be in capitals unless an agency
    tag follows it, so ordinary sentences are left alone.
    """
    match = _DATELINE_RE.match(text)
    if not match:
        return text
    place = match.group("place")
    has_agency = bool(match.group("agency"))
    is_caps = place.upper() == place and sum(map(str.isalpha, place)) >= 2
    if not (is_caps or has_agency):
        return text
    if match.group("sep") == "-" and not (has_agency or match.group("date")) and " " not in place:
        return text  # "UPPER-case" hyphen without agency/date is too ambiguous
    return text[match.end() :]
