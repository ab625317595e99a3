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
# Sentences (or lines) that are page furniture whatever follows them: related
# links, copyright notices, photo and reporting credits, newsletter and follow
# prompts, bylines, time stamps. Matched on one sentence at a time (see
# is_furniture), so "Photo: AP. GENEVA: ..." loses only its first sentence.
_FURNITURE_RE = re.compile(
    r"^(?:"
    r"(?:read|see) (?:more|also)\b\s*[:›»>|-]"  # "Read more: <another story>"
    r"|(?:also read|related(?: stories| articles| coverage| news)?|more on this(?: story)?"
    r"|recommended|most read|trending)\s*[:›»>|-]"
    r"|(?:©|\(c\)\s|copyright\s*(?:©|\(c\)|\d{4}))"
    r"|all rights reserved\b"
    r"|(?:photo|image|picture|photograph|pic|video|file photo|main image|top image)s?"
    r"(?: credit)?\s*(?::|\||/| by\b| courtesy\b)"
    r"|(?:credit|source|image source)\s*:"
    r"|\(?(?:with )?(?:additional )?(?:reporting|writing|editing|compiled|research) by\b"
    r"|about the authors?\b"
    r"|(?:published|updated|last updated|first published|posted)\s*(?::|on\b|at\b)"
    r"|(?:sign up|subscribe|register|receive"
    r"|get (?:our|the (?:latest|best)|breaking|free|daily|weekly|more))\b.{0,120}"
    r"\b(?:newsletters?|inbox|alerts|briefing|bulletin)\b"
    r"|want (?:more|the latest|to read more)\b.{0,80}\?$"
    r"|(?:follow|like|join) us (?:on|at)\b"
    r"|follow (?:him|her|them|the author)\b.{0,60}\b(?:on|at)\b"
    r"|(?:contact|email|e-mail|write to) (?:the )?(?:author|reporter|writer|us)\b"
    r"|(?:share|tweet|email|print) this (?:article|story|page)\b"
    r"|share (?:on|via) (?:facebook|twitter|x|whatsapp|linkedin|email)\b"
    r"|(?:story|article|text) continues (?:below|after)\b"
    r"|(?:advertisement|sponsored content|promoted content|paid content)\s*$"
    r"|this (?:article|story) (?:was|is|has been) (?:originally )?(?:published|produced"
    r"|updated|republished|reproduced|amended)\b"
    r"|listen to (?:this|the) (?:article|story)\b"
    r"|this material may not be (?:published|reproduced|copied)\b"
    r"|(?:\d{1,2} )?min(?:ute)?s? read$"
    r")",
    re.IGNORECASE,
)
# Case matters for these: a byline and a bio name a person in capitals.
_BYLINE_RE = re.compile(
    r"^(?:By|BY) [A-Z][\w.'’-]+(?: (?:[A-Z][\w.'’-]+|de|van|von|da|bin)){0,4}"
    r"(?:\s*(?:,|\||and|&|-|—|in)\s*.{0,60})?$"
)
_BIO_RE = re.compile(
    r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3} (?:is|was) (?:a|an|the|our) "
    r"(?:[\w-]+ ){0,4}(?:reporter|correspondent|editor|writer|journalist|columnist"
    r"|contributor|producer|author)\b"
)
_FURNITURE_MAX_CHARS = 240  # furniture is short; a long sentence is the story
# Glued inside a line: a copyright notice, a photo credit in brackets, an ad label.
_INLINE_JUNK = (
    (
        ("rights reserved",),
        re.compile(r"\s*(?:©|\(c\)|copyright\b).{0,160}?\ball rights reserved\b\.?", re.IGNORECASE),
    ),
    (("©",), re.compile(r"\s*©\s*(?:\d{4}\s*)?[A-Z][\w&.'’ -]{1,60}?(?:\.|$)")),
    (
        ("photo", "image", "picture"),
        re.compile(
            r"\s*[(\[](?:[A-Z]+ )?(?:file )?(?:photo|photograph|image|picture)"
            r"(?:s| by|:|/| credit:?)[^()\[\]]{0,100}[)\]]",
            re.IGNORECASE,
        ),
    ),
    (
        ("advertisement",),
        re.compile(r"(?:(?<=[.!?”\"’])|^)\s*advertisement\s*(?=(?-i:[A-Z“\"])|$)", re.IGNORECASE),
    ),
    (
        ("share this article",),
        re.compile(r"\s*\bshare this article\b(?: on| via)?\s*:?\s*$", re.IGNORECASE),
    ),
)
# An agency credit closing the text: "... the ministry said. -- AFP", "... (Reuters)".
_AGENCIES = r"AFP|AP|Reuters|PTI|IANS|ANI|UNI|dpa|Xinhua|Bloomberg|TASS|EFE|ANSA|Kyodo|Yonhap|AAP"
_TRAILING_CREDIT_RE = re.compile(
    rf"(?<=[.!?”\"’])\s*(?:[-–—]{{1,2}}\s*(?:{_AGENCIES})|\((?:{_AGENCIES})\))\s*$"
)
_SENTENCE_BREAK_RE = re.compile(r"[.!?…][\"'”’)]*\s+[\"'“‘(]?[A-Z0-9]")


# The first words _FURNITURE_RE can match, so most sentences are judged by one set
# lookup (this runs on every one-sentence line and on each text's edge sentences).
_FURNITURE_STARTS = frozenset(
    {
        "read", "see", "also", "related", "more", "recommended", "most", "trending", "©",
        "(c)", "copyright", "all", "photo", "photos", "image", "images", "picture",
        "pictures", "photograph", "photographs", "pic", "pics", "video", "videos", "file",
        "main", "top", "credit", "credit:", "source", "source:", "with", "additional",
        "reporting", "writing", "editing", "compiled", "research", "about", "published",
        "updated", "last", "first", "posted", "sign", "subscribe", "register", "receive",
        "get", "want", "follow", "like", "join", "contact", "email", "e-mail", "write",
        "share", "tweet", "print", "story", "article", "text", "advertisement", "sponsored",
        "promoted", "paid", "this", "listen", "min", "mins", "minute", "minutes",
    }
)  # fmt: skip
_FIRST_WORD_RE = re.compile(r"[(\[]?([^\s:|/]+)")


def is_furniture(text: str) -> bool:
    """True when one sentence or line is page furniture, not news: a share bar, "Read more:
    ...", a copyright line, "Advertisement", a newsletter or follow prompt, a byline or
    author bio, a photo or reporting credit, a time stamp.
    """
    line = text.strip()
    if not line:
        return True
    if len(line) > _FURNITURE_MAX_CHARS:
        return False
    first = _FIRST_WORD_RE.match(line)
    word = first[1].casefold() if first else ""
    may_be = word in _FURNITURE_STARTS or word[:1].isdigit() or line[:1] in "©("
    if may_be and _FURNITURE_RE.match(line):
        return True
    if word == "by" and _BYLINE_RE.match(line):
        return True
    if (" is " in line or " was " in line) and _BIO_RE.match(line):
        return True
    if line.casefold().rstrip(" .:") in _UI_LINES:
        return True
    return word in _SHARE_WORDS and _is_share_line(line)


def _strip_inline_junk(line: str) -> str:
    lowered = line.casefold()
    for needles, pattern in _INLINE_JUNK:
        if any(needle in lowered for needle in needles):
            line = " ".join(pattern.sub(" ", line).split())
    if line.endswith(")") or line[-1:].isalpha():  # cheap test before the credit pattern
        line = _TRAILING_CREDIT_RE.sub("", line)
    return line


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
    line = _strip_inline_junk(_cut_trailing_share_words(line))
    if line.casefold() in _UI_LINES or _is_share_line(line):
        return ""
    if _PROMO_RE.match(line) or _DISCLAIMER_RE.match(line):
        return ""
    # A line of one sentence may be furniture as a whole; longer lines are judged
    # sentence by sentence at the text's edges (text.trim_furniture).
    if not _SENTENCE_BREAK_RE.search(line) and is_furniture(line):
        return ""
    return line


def strip_boilerplate(text: str) -> str:
    """Remove page furniture: "Continue reading...", "The post X appeared first on Y.",
    "Read more", app promos, comment disclaimers, share-button words, "(Click here ...)",
    a trailing "[…]", copyright notices, photo credits, "Advertisement", an agency
    credit at the end, and lines of one sentence that :func:`is_furniture` rejects.
    Paragraph breaks are kept.
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
