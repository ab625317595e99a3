"""Fixtures shared by the source tests."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.settings import HttpClient


@pytest.fixture(params=get_args(HttpClient))
def http_client(request: pytest.FixtureRequest) -> HttpClient:
    """Each HTTP library the Fetcher can use, in turn."""
    return request.param  # type: ignore[no-any-return]
