"""The one error hierarchy of newsbot.

Third-party errors are wrapped once, at the boundary where they enter our
code (``raise FetchTimeout(...) from err``), so callers catch our classes only.

    NewsbotError
    ├── ConfigError            bad setting; start-up stops with one clear line
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
