"""Delivery benchmark: the outbox Sender against the fake Telegram in another process.

    .venv/bin/python -m bench.delivery [--runs 3] [--database-url URL]

Three cases, each on a fresh outbox of private chats x 2 parts, sent through
one-connection bots per worker as the bot builds them (:func:`bot.app.sender_bots`):

* ``limits-on`` (300 chats, 600 messages, ~20 s): the fake enforces Telegram's
  flood limits (30/s, ~1/s per chat); the Sender runs with the default
  settings (30/s, 16 workers). Target: at least 97 % of 30 msg/s and no 429.
* ``limits-off`` (1,000 chats, 2,000 messages): limits off on both sides: the
  fake enforces nothing and the Sender's limiter paces nothing (1,000,000/s,
  no per-chat spacing), so this is what the bot's sending machinery can do
  (32 workers, as a broadcasting bot would set ``delivery.concurrency``).
  Target: at least 1,000 msg/s, the paid-broadcast ceiling.
* ``paid-broadcast`` (1,000 chats): the fake enforces nothing; the Sender runs
  with ``allow_paid_broadcast``: its limiter spaces sends for 98 % of 1,000/s
  (980/s at most, by design: the 2 % is headroom for network jitter).
* ``senders`` (PostgreSQL; ``--database-url`` names the server, a fresh database
  is made per run): 1,000 chats x 2 parts sent by ``newsbot run --role sender``
  processes, first 1 then 2 of them, with paid-broadcast settings (the fake
  enforces nothing). Only the process holding the ``sender`` lease sends, so
  the second adds availability, not throughput; the figures show it.
* ``replies-during-fanout`` (the whole bot, ``bot.app.running_bot``): a fan-out
  of 300 chats x 2 parts is queued, the bot starts, and 300 other users send
  /start at once. The fake (in a thread here, limits on) counts every message.
  Target: all 300 answered, the overall rate at least 97 % of 30 msg/s, no 429;
  the reply latency (from /start to the answer) is printed.

CPU ms per message is this process's CPU time (Sender, PTB, httpx,
SQLAlchemy and the SQLite thread) over the messages sent; the fake's CPU is
not in it. The fake runs on the same 2 cores, so msg/s also depends on it.

429s are counted from the Sender's side: any 429 pauses sending and is stored
under ``SENDING_PAUSED_UNTIL``. Prints one JSON line per run and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram

from bot.app import running_bot, sender_bots
from bot.delivery.limiter import SendLimiter
from bot.delivery.sender import Sender
from bot.settings import DeliverySettings, Settings, TopicConfig
from bot.store import Store, open_store
from bot.store.records import ChatKey, DigestRequest, Part
from bot.store.state import SENDING_PAUSED_UNTIL
from tests.fakes.telegram import FakeTelegram

TOKEN = "123:ABC"
# 1,000 msg/s needs rate x round trip workers in flight (30 at a 30 ms round trip to
# Telegram), so a broadcasting bot sets delivery.concurrency above the default 16.
_BROADCAST = DeliverySettings(
    allow_paid_broadcast=True, private_chat_interval_seconds=0.0, concurrency=32
)


@dataclass(frozen=True)
class Case:
    """One benchmark case: the fake's limits, the Sender's settings, and whether it paces."""

    fake_limits: bool
    settings: DeliverySettings
    paced: bool = True
    chats: int = 1_000

    def limiter(self) -> SendLimiter:
        if self.paced:
            return SendLimiter.from_settings(self.settings)
        return SendLimiter(per_second=UNPACED_PER_SECOND, private_interval_seconds=0.0)


# Fast enough never to hold a send back here (a 1 us spacing).
UNPACED_PER_SECOND = 1_000_000.0
REPLIES_CASE = "replies-during-fanout"
CASES: dict[str, Case] = {
    "limits-on": Case(True, DeliverySettings(), chats=300),
    "limits-off": Case(False, _BROADCAST, paced=False),
    "paid-broadcast": Case(False, _BROADCAST),
}


def start_fake(limits: bool) -> tuple[subprocess.Popen[str], str]:
    """Run ``python -m tests.fakes.telegram`` on a free port; returns (process, base URL)."""
    command = [sys.executable, "-m", "tests.fakes.telegram", "--port", "0", "--auto-chats"]
    process = subprocess.Popen(
        [*command, *(["--limits"] if limits else [])], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.strip().rsplit(" ", 1)[-1]


async def seed(store: Store, chats: int, parts: int) -> None:
    """One digest of ``parts`` HTML parts for each of ``chats`` private chats."""
    body = "<b>Headline</b>\n" + "A summary of the story, long enough to be realistic. " * 8
    requests = []
    for n in range(chats):
        chat = await store.chats.ensure(
            ChatKey(100_000 + n),
            kind="private",
            title="",
            timezone="UTC",
            digest_times=["08:00"],
            next_digest_at=None,
        )
        texts = tuple(Part(f"{body}\npart {p + 1} for chat {n}") for p in range(parts))
        requests.append(DigestRequest(chat.id, "scheduled", "bench", texts, 0, None, None))
    await store.outbox.enqueue(requests)


async def run_case(database_url: str, base_url: str, case: Case) -> dict[str, Any]:
    """Send the whole outbox once; returns rate, CPU per message and 429s seen."""
    settings = case.settings
    store = await open_store(database_url)
    try:
        await seed(store, chats=case.chats, parts=2)
        async with telegram.Bot(TOKEN, base_url=f"{base_url}/bot") as bot:
            worker_bot = sender_bots(TOKEN, base_url)
            clock = functools.partial(datetime.now, UTC)
            sender = Sender(
                store, bot, case.limiter(), settings, clock, "bench", worker_bot=worker_bot
            )
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                report = await sender.drain()
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            finally:
                await sender.aclose()
        paused = await store.state.get(SENDING_PAUSED_UNTIL)
    finally:
        await store.close()
    return {
        "sent": report.sent,
        "seconds": round(wall, 2),
        "msg_per_s": round(report.sent / wall, 1),
        "cpu_ms_per_msg": round(1000 * cpu / max(report.sent, 1), 3),
        "retried": report.retried,
        "flood_waits": 0 if paused is None else 1,
    }


REPLY_USERS = 300
FIRST_REPLY_USER = 200_000


async def run_replies_during_fanout(database_url: str) -> dict[str, Any]:
    """The whole bot: a 300-chat fan-out queued, then 300 users send /start at once."""
    store = await open_store(database_url)
    await seed(store, chats=300, parts=2)
    await store.close()
    handle = FakeTelegram.run_in_thread(token=TOKEN, limits=True, auto_create_chats=True)
    fake = handle.fake
    users = [FIRST_REPLY_USER + n for n in range(REPLY_USERS)]
    settings = Settings(
        telegram_token=TOKEN,
        telegram_api_url=handle.base_url,
        database_url=database_url,
        tick_seconds=3600,
        topics=[TopicConfig(id="world", name="World news")],
        sources=[],
    )
    try:
        async with running_bot(settings):
            asked_at = {}
            for user in users:
                fake.private_chat(user)
                asked_at[user] = time.monotonic()
                handle.call(fake.send_text(user, user, "/start"))
            everything = fake.wait_until(lambda: len(fake.sent) >= 600 + REPLY_USERS, timeout=120)
            with contextlib.suppress(AssertionError):  # the counts say what is missing
                await asyncio.to_thread(handle.call, everything, 130)  # the bot's loop runs on
        sent = list(fake.sent)
    finally:
        handle.stop()
    replies = {m.chat_id: m.sent_at for m in sent if m.chat_id in asked_at}
    waits = sorted(replies[u] - asked_at[u] for u in replies)
    span = sent[-1].sent_at - sent[0].sent_at
    return {
        "sent": len(sent),
        "answered": len(replies),
        "msg_per_s": round((len(sent) - 1) / span, 1),
        "reply_wait_median_s": round(statistics.median(waits), 2),
        "reply_wait_max_s": round(waits[-1], 2),
        "rejected_429": fake.rejected_429,
    }


SENDERS_CASE = "senders"
SENDER_MESSAGES = 2_000


def run_senders(processes: int, workdir: Path) -> dict[str, Any]:
    """``processes`` sender processes drain a 1,000-chat outbox on a fresh PostgreSQL database."""
    from tests.conftest import _create_pg_database, _drop_pg_database

    url, name = asyncio.run(_create_pg_database())
    handle = FakeTelegram.run_in_thread(token=TOKEN, auto_create_chats=True)
    senders: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(_seed_fresh(url))
        config = workdir / "senders.toml"
        config.write_text('[[topics]]\nid = "world"\nname = "World news"\n')
        env = _sender_env(handle.base_url, url, config)
        command = [sys.executable, "-m", "bot", "run", "--role", "sender"]
        senders = [
            subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(processes)
        ]
        deadline = time.monotonic() + 180
        while len(handle.fake.sent) < SENDER_MESSAGES and time.monotonic() < deadline:
            time.sleep(0.2)
        times = sorted(m.sent_at for m in handle.fake.sent)
    finally:
        for sender in senders:
            sender.terminate()
        for sender in senders:
            sender.wait(30)
        handle.stop()
        asyncio.run(_drop_pg_database(name))
    return {
        "processes": processes,
        "sent": len(times),
        "msg_per_s": round((len(times) - 1) / (times[-1] - times[0]), 1),
    }


async def _seed_fresh(url: str) -> None:
    store = await open_store(url)
    try:
        await seed(store, chats=SENDER_MESSAGES // 2, parts=2)
    finally:
        await store.close()


def _sender_env(api_url: str, database_url: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    return env | {
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_API_URL": api_url,
        "NEWSBOT_DATABASE_URL": database_url,
        "NEWSBOT_CONFIG": str(config),
        "NEWSBOT_DELIVERY__ALLOW_PAID_BROADCAST": "true",
        "NEWSBOT_DELIVERY__PRIVATE_CHAT_INTERVAL_SECONDS": "0",
        "NEWSBOT_DELIVERY__CONCURRENCY": "32",
        "NEWSBOT_LOG_LEVEL": "WARNING",
    }


def one_run(case: str, database_url: str | None, workdir: Path, run: int) -> dict[str, Any]:
    if case == SENDERS_CASE:
        return {"case": case, **run_senders(1 + run % 2, workdir)}
    url = database_url or f"sqlite:///{workdir / f'{case}-{run}.db'}"
    if case == REPLIES_CASE:
        return {"case": case, **asyncio.run(run_replies_during_fanout(url))}
    process, base_url = start_fake(CASES[case].fake_limits)
    try:
        return {"case": case, **asyncio.run(run_case(url, base_url, CASES[case]))}
    finally:
        process.terminate()
        process.wait(10)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.delivery``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--case", choices=[*CASES, REPLIES_CASE, SENDERS_CASE, "all"], default="all"
    )
    parser.add_argument("--database-url", default=None, help="an EMPTY database; default SQLite")
    parser.add_argument("--concurrency", type=int, default=None, help="override the workers")
    args = parser.parse_args(argv)
    if args.concurrency is not None:
        for name, spec in CASES.items():
            settings = spec.settings.model_copy(update={"concurrency": args.concurrency})
            CASES[name] = dataclasses.replace(spec, settings=settings)
    cases = [*CASES, REPLIES_CASE] if args.case == "all" else [args.case]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            results = [one_run(case, args.database_url, Path(tmp), n) for n in range(args.runs)]
            for result in results:
                print(json.dumps(result), flush=True)
            _print_medians(case, results)


def _print_medians(case: str, results: list[dict[str, Any]]) -> None:
    """Medians per key; the senders case per number of processes (runs alternate 1, 2)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        label = f"{case} x{result['processes']}" if "processes" in result else case
        groups.setdefault(label, []).append(result)
    for label, group in groups.items():
        for key in ("msg_per_s", "cpu_ms_per_msg", "reply_wait_median_s"):
            if key in group[0]:
                print(f"{label} median {key}: {statistics.median(r[key] for r in group)}")


if __name__ == "__main__":
    main()
