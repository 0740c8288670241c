"""`mypage backup` and a restore drill: back up, change data, restore, the app serves the backup."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pytest
from quart import Quart

from server import cli
from server.app import create_app
from server.backup import sqlite_file
from server.config import Settings
from server.db import is_postgres
from server.lib.clock import FrozenClock
from server.members.models import Member
from tests.factories import make_account
from tests.helpers import login, page


async def run_backup(settings: Settings, target: Path) -> int:
    return await cli.COMMANDS["backup"](argparse.Namespace(file=str(target)), settings)


async def test_postgres_is_told_the_pg_dump_line(tmp_path: Path, capsys) -> None:
    settings = Settings(env="test", database_url="postgres://mypage:secret@db.internal/mypage")
    assert await run_backup(settings, tmp_path / "x.dump") == 2
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and "pg_restore" in err
    assert "secret" not in err
    assert not (tmp_path / "x.dump").exists()


async def test_restore_drill(
    app: Quart, settings: Settings, clock: FrozenClock, tmp_path: Path, capsys
) -> None:
    if is_postgres(settings.database_url):
        pytest.skip("the PostgreSQL drill is pg_dump/pg_restore (docs/deploy.md)")
    account = await make_account(email="hanako@example.jp")
    member = await Member.get(id=account.member_id)  # type: ignore[attr-defined]
    original = member.name
    target = tmp_path / "backup.sqlite3"
    # Taken while the app is up and holds its connection (WAL mode).
    assert await run_backup(settings, target) == 0
    assert "written to" in capsys.readouterr().out
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert await run_backup(settings, target) == 2  # never overwritten
    # After the backup: the name changes and a second member registers.
    await Member.filter(id=member.id).update(name="変更 後子")
    await make_account(email="later@example.jp")
    client = app.test_client()
    await login(client, "hanako@example.jp")
    assert "変更 後子" in (await page(client, "/profile"))[1]
    # Restore: the app stops, the backup is copied over the database file.
    await app.shutdown()
    database = sqlite_file(settings.database_url)
    for extra in ("-wal", "-shm"):
        Path(str(database) + extra).unlink(missing_ok=True)
    shutil.copyfile(target, database)
    restored = create_app(settings, clock=clock)
    async with restored.test_app():
        client = restored.test_client()
        await login(client, "hanako@example.jp")
        status, html = await page(client, "/profile")
        assert status == 200 and original in html and "変更 後子" not in html
        later = await login(restored.test_client(), "later@example.jp")
        assert later.status_code != 303  # that account came after the backup
