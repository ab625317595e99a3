"""``newsbot shell`` adds a feed from a local fixture server, lists and exports it."""

from __future__ import annotations

import io

from bot.app import run_shell
from bot.settings import FetchSettings, Settings, TopicConfig
from tests.fakes.news_site import FakeNewsSite


async def test_the_shell_adds_lists_and_exports_a_feed_of_a_local_server(
    site: FakeNewsSite,
) -> None:
    settings = Settings(
        topics=[TopicConfig(id="world", name="World news")],
        sources=[],
        database_url="sqlite:///never/used.db",
        fetch=FetchSettings(allowed_hosts=[site.host_port]),  # the local server, opted in
    )
    typed = [f"/add {site.url('/')}", "/feeds", "/export", "/digest"]
    stdout = io.StringIO()

    code = await run_shell(settings, stdin=io.StringIO("\n".join(typed) + "\n"), stdout=stdout)

    shown = stdout.getvalue()
    assert code == 0
    assert "✅ Added Valley Garden Blog" in shown
    assert "1. Valley Garden Blog — 127.0.0.1" in shown
    assert "📎 newsbot-feeds.opml" in shown
    assert f'xmlUrl="{site.url("/blog.xml")}"' in shown
    assert "My feeds" in shown and "Gardeners report record tomato harvest" in shown
