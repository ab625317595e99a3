"""The one error hierarchy of newsbot.

Third-party errors are wrapped once, at the boundary where they enter our
code (``raise FetchTimeout(...) from err``), so callers catch our classes only.

    NewsbotError
    ├── ConfigError            bad setting; start-up stops with one clear line
    ├── ServiceError           a service newsbot needs cannot be used (what, where, the fix)
    │   ├── DatabaseError      missing, refused, unwritable, wrong credentials
    │   └── BotApiError        the Telegram Bot API cannot be reached at start-up
    ├── CommandError           a command cannot do what was asked (backup target exists, ...)
    ├── SourceError            something wrong with a news source
    │   ├── FetchError         the HTTP fetch did not give a usable body
    │   │   ├── FetchTimeout
    │   │   ├── FetchConnectionError
    │   │   ├── HTTPStatusError    (.status_code)
    │   │   ├── BodyTooLarge
    │   │   └── FetchRefused       the fetch guard refused the URL or its address
    │   └── ParseError         the body is not a feed/article we can read
"""

from __future__ import annotations

from collections.abc import Iterator


class NewsbotError(Exception):
    """Base class of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """A setting is missing or wrong. ``key`` names it, ``hint`` says the fix."""

    def __init__(self, key: str, problem: str, hint: str = "") -> None:
        self.key = key
        self.problem = problem
        self.hint = hint
        text = f"config error: {key}: {problem}"
        super().__init__(f"{text} ({hint})" if hint else text)


class ServiceError(NewsbotError):
    """A service newsbot needs cannot be used. ``where`` names it (password masked),
    ``problem`` says what went wrong, ``hint`` the fix."""

    kind = "service error"

    def __init__(self, where: str, problem: str, hint: str = "") -> None:
        self.where = where
        self.problem = problem
        self.hint = hint
        text = f"{self.kind}: {where}: {problem}"
        super().__init__(f"{text} ({hint})" if hint else text)


class DatabaseError(ServiceError):
    """The database cannot be opened, reached or written."""

    kind = "database error"


class BotApiError(ServiceError):
    """The Telegram Bot API cannot be reached (DNS, refused, timeout) when starting."""

    kind = "Telegram Bot API error"


class CommandError(NewsbotError):
    """A command cannot do what was asked; the text says why and what to do instead."""


class SourceError(NewsbotError):
    """A news source could not be read."""


class FetchError(SourceError):
    """The HTTP fetch of a source failed."""


class FetchTimeout(FetchError):
    """The server did not answer within the time cap."""


class FetchConnectionError(FetchError):
    """No connection could be made, or it broke mid-way."""


class HTTPStatusError(FetchError):
    """The server answered with a status we treat as a failure."""

    def __init__(self, status_code: int, url: str) -> None:
        self.status_code = status_code
        self.url = url
        super().__init__(f"HTTP {status_code} from {url}")


class BodyTooLarge(FetchError):
    """The body exceeded the size cap; reading stopped at the cap."""


class FetchRefused(FetchError):
    """The fetch guard refused a URL: its scheme, its user info, or the address it reaches."""


class ParseError(SourceError):
    """The body is not a feed or article we can read."""


def causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and every error behind it: ``__cause__``, ``__context__``, and SQLAlchemy's
    ``orig`` (the driver's error), each once. Boundaries classify a third-party error by
    what it wraps (a DNS failure inside an HTTP client's ConnectError, and so on)."""
    seen: set[int] = set()
    pending = [err]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)
