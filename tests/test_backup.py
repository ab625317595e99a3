"""``newsbot backup FILE``: a consistent SQLite copy while another writer is mid-transaction,
restored and read back; for PostgreSQL the pg_dump command, password masked."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.store import open_store
from tests.test_cli import newsbot

PASSWORD = "hunter2-PASSWORD"
CATALOGUE = '[[topics]]\nid = "world"\nname = "World news"\n'


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "newsbot.toml").write_text(CATALOGUE)
    return tmp_path


async def test_backup_while_a_writer_holds_a_transaction_then_restore(workdir: Path) -> None:
    db = workdir / "data" / "newsbot.db"
    store = await open_store(f"sqlite:///{db}")
    await store.sources.sync(
        [("Wire A", "https://a.example/rss", "feed"), ("Wire B", "https://b.example/rss", "feed")]
    )
    await store.close()

    # Another process (the running bot) is in the middle of a write: the backup neither
    # waits for it nor copies its uncommitted change.
    with closing(sqlite3.connect(db, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE sources SET url = 'https://uncommitted.example/' WHERE id = 1")
        result = newsbot("backup", "backups/monday.db", cwd=workdir)
        assert result.returncode == 2  # the folder does not exist yet: said, not created
        assert "no folder" in result.stderr
        (workdir / "backups").mkdir()
        result = newsbot("backup", "backups/monday.db", cwd=workdir)
        writer.execute("COMMIT")

    backup = workdir / "backups" / "monday.db"
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {db} to {backup} (")
    assert not list((workdir / "backups").glob(".*partial"))

    # Restore: the bot stopped, the copy put where database_url points.
    restored = workdir / "restored" / "newsbot.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    store = await open_store(f"sqlite:///{restored}", migrate=False)
    try:
        urls = {source.name: source.url for source in await store.sources.all()}
    finally:
        await store.close()
    assert urls == {"Wire A": "https://a.example/rss", "Wire B": "https://b.example/rss"}

    again = newsbot("backup", "backups/monday.db", cwd=workdir)
    assert again.returncode == 2 and "exists" in again.stderr  # never overwritten


def test_postgres_backup_prints_pg_dump_without_the_password(workdir: Path) -> None:
    url = f"postgresql://newsbot:{PASSWORD}@db.example:5433/news?sslmode=require"
    result = newsbot("backup", "news.dump", cwd=workdir, env={"NEWSBOT_DATABASE_URL": url})
    assert result.returncode == 2
    assert PASSWORD not in result.stdout + result.stderr
    assert result.stdout.strip() == (
        f"PGPASSWORD='***' pg_dump --format=custom --file={workdir / 'news.dump'} "
        "'postgresql://newsbot@db.example:5433/news?sslmode=require'"
    )
    assert "pg_dump command above" in result.stderr
