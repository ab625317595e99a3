"""Scale-out on PostgreSQL: several `newsbot run --role ...` processes share the work.

Four processes against one PostgreSQL database, the fake Telegram (limits on)
and a fake news site:

* A and B: ``receiver,poller,planner``: webhook receivers behind one
  round-robin balancer, two pollers, and two planners (one holds the lease);
* C and D: ``sender``: one holds the lease and handles commands and sends the
  outbox, the other stands by.

300 chats have their 08:00 digest due; 100 other users send /start through
the webhook, half before and half after the kills. Mid-delivery the test
kills (SIGKILL) the process holding the planner lease (a planner, a poller and
a receiver at once) and the active sender. The survivors take over within
the lease: every chat gets its digest exactly once, every /start is
answered, Telegram's limits hold (no 429, at most 30 messages in any second)
and each feed is fetched once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.conftest import REPO_ROOT
from tests.fakes.balancer import RoundRobinBalancer
from tests.fakes.news_site import FakeNewsSite, make_items
from tests.fakes.telegram import FakeTelegram, FakeTelegramThread
from tests.subscribers import seed_world_subscribers

pytestmark = pytest.mark.slow

CHATS = 300
STARTERS = 100
FIRST_CHAT = 800_000
FIRST_STARTER = 900_000
HEADLINE = "Ministers agree a ceasefire after all-night talks in Geneva"
SECRET = "scale-out-secret"
POLL_INTERVAL_SECONDS = 10
FEEDS = ("/a.xml", "/b.xml", "/c.xml")
CONFIG = """
tick_seconds = 1
poll_interval_seconds = {interval}
role_lease_seconds = 6
[delivery]
lease_seconds = 8
[[topics]]
id = "world"
name = "World news"
[[sources]]
name = "Desk"
kind = "folder"
path = "{desk}"
topics = ["world"]
{sources}
"""
SOURCE = """
[[sources]]
name = "Wire {n}"
url = "{url}"
topics = ["world"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(roles: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--role", roles], env=env, cwd=cwd, stderr=out
        )


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def holder(store: Store, lease: str) -> int | None:
    """The pid of the process holding ``lease`` now (owners are host:pid:random)."""
    now = datetime.now(UTC)
    for held in await store.leases.holders():
        if held.name == lease and held.expires_at > now:
            return int(held.owner.split(":")[1])
    return None


def max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_four_processes_share_the_work_and_survive_kills(
    pg_database_url: str, tmp_path: Path
) -> None:
    desk = tmp_path / "desk"
    desk.mkdir()
    await seed_world_subscribers(
        pg_database_url,
        desk,
        headline=HEADLINE,
        first_id=FIRST_CHAT,
        count=CHATS,
        digest_in=-timedelta(minutes=1),
    )
    handle = FakeTelegram.run_in_thread(limits=True, auto_create_chats=True)
    fake = handle.fake
    receiver_ports = [free_port(), free_port()]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        async with FakeNewsSite() as site, RoundRobinBalancer(receiver_ports) as balancer:
            for path in FEEDS:
                site.add_feed(path, title=path, items=make_items(3, seed=len(path), prefix=path))
            sources = "".join(SOURCE.format(n=n, url=site.url(p)) for n, p in enumerate(FEEDS))
            config = CONFIG.format(interval=POLL_INTERVAL_SECONDS, desk=desk, sources=sources)
            (tmp_path / "newsbot.toml").write_text(config)
            base = _env(handle, pg_database_url, tmp_path)
            for name, port in zip("AB", receiver_ports, strict=True):
                env = base | _webhook_env(balancer.port, port)
                processes[name] = start("receiver,poller,planner", env, tmp_path, tmp_path / name)
            for name in "CD":
                processes[name] = start("sender", base, tmp_path, tmp_path / name)
            store = await open_store(pg_database_url, migrate=False)
            try:
                started = time.monotonic()
                await _run_and_kill(store, handle, processes, tmp_path)
                polled_for = time.monotonic() - started
                inbox = await store.inbox.counts()
                outbox = await store.outbox.counts()
            finally:
                await store.close()
            feed_hits = {path: site.hits(path) for path in FEEDS}
            connections = dict(balancer.connections)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if process.poll() is None:
                process.kill()
        handle.stop()

    digests = [
        sum(HEADLINE in m.text for m in fake.messages_to(FIRST_CHAT + n)) for n in range(CHATS)
    ]
    answered = [len(fake.messages_to(FIRST_STARTER + n)) for n in range(STARTERS)]
    duplicates = sum(c - 1 for c in digests if c > 1)
    missing = digests.count(0)
    print(
        f"\noutbox {outbox}, inbox {inbox}, digest duplicates {duplicates}, missing {missing}, "
        f"/start answers {sum(answered)}, 429 answers {fake.rejected_429}, "
        f"busiest second {max_in_any_second([m.sent_at for m in fake.sent])}, "
        f"feed hits {feed_hits} in {polled_for:.0f} s, balancer {connections}"
    )
    assert duplicates == 0
    # A digest part in flight when its sender was killed is 'unknown' (not resent).
    assert missing <= outbox.get("unknown", 0)
    assert all(n >= 1 for n in answered)
    assert inbox.get("pending", 0) == 0
    assert fake.rejected_429 == 0
    assert max_in_any_second([m.sent_at for m in fake.sent]) <= 30
    # The balancer spreads connections (the fake keeps them alive, so one receiver may
    # take them all); after the kill only the surviving receiver answers.
    assert sum(connections.values()) >= 1
    # Two pollers, one fetch per source per interval (plus the first poll).
    most = polled_for / POLL_INTERVAL_SECONDS + 2
    assert all(1 <= hits <= most for hits in feed_hits.values()), feed_hits


async def _run_and_kill(
    store: Store,
    handle: FakeTelegramThread,
    processes: dict[str, subprocess.Popen[bytes]],
    logs: Path,
) -> None:
    fake = handle.fake
    for n in range(STARTERS):
        fake.private_chat(FIRST_STARTER + n)
    await until(lambda: bool(fake.webhook_url), 60, "a receiver to set the webhook")
    half = STARTERS // 2
    for n in range(half):  # the other half after the kills: a receiver is gone then
        handle.call(fake.send_text(FIRST_STARTER + n, FIRST_STARTER + n, "/start"))
    await until(lambda: len(fake.sent) >= 120, 90, "deliveries to begin")
    planner, sender = await holder(store, "planner"), await holder(store, "sender")
    victims = [p for p in processes.values() if p.pid in (planner, sender)]
    assert len(victims) == 2, (planner, sender, [p.pid for p in processes.values()])
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    survivors = {p.pid for p in processes.values() if p.poll() is None}

    async def taken_over() -> bool:
        return {await holder(store, "planner"), await holder(store, "sender")} <= survivors

    for n in range(half, STARTERS):
        handle.call(fake.send_text(FIRST_STARTER + n, FIRST_STARTER + n, "/start"))
    deadline = time.monotonic() + 60
    while not await taken_over():
        assert time.monotonic() < deadline, _tails(logs)
        await asyncio.sleep(0.5)
    expected = CHATS + STARTERS

    def delivered() -> bool:
        chats = {m.chat_id for m in fake.sent}
        return len(chats) >= expected

    await until(delivered, 120, "every chat to get its message")
    await asyncio.sleep(2)  # anything sent twice would arrive now


def _env(handle: FakeTelegramThread, db_url: str, tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
        "NEWSBOT_TELEGRAM_TOKEN": handle.fake.token,
        "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
        "NEWSBOT_DATABASE_URL": db_url,
        "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
        "NEWSBOT_LOG_LEVEL": os.environ.get("SCALE_LOG", "INFO"),
        "PYTHONPATH": str(REPO_ROOT),
    }


def _webhook_env(balancer_port: int, own_port: int) -> dict[str, str]:
    return {
        "NEWSBOT_WEBHOOK__URL": f"http://127.0.0.1:{balancer_port}/telegram",
        "NEWSBOT_WEBHOOK__SECRET": SECRET,
        "NEWSBOT_WEBHOOK__PORT": str(own_port),
    }


def _tails(logs: Path) -> str:
    return "\n".join(
        f"--- {name}\n" + (logs / name).read_text(errors="replace")[-1500:] for name in "ABCD"
    )


async def test_role_processes_starting_together_migrate_a_new_database_once(
    pg_database_url: str, tmp_path: Path
) -> None:
    """Every process migrates on start; on an empty database they take turns."""
    (tmp_path / "newsbot.toml").write_text('[[topics]]\nid = "world"\nname = "World news"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
        "NEWSBOT_DATABASE_URL": pg_database_url,
        "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    migrations = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "migrate",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outcomes = [await m.communicate() for m in migrations]

    assert [m.returncode for m in migrations] == [0, 0, 0, 0], outcomes
