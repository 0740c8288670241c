"""`mypage backup`: a consistent copy of the SQLite database while the app serves."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from server.db import database_url, is_postgres


class BackupRefused(Exception):
    """The backup cannot be made here; the message says what to do instead."""


def sqlite_file(url: str) -> Path:
    """The database file a sqlite:// URL names."""
    return Path(database_url(url).removeprefix("sqlite://").split("?", 1)[0])


def postgres_instructions(target: Path) -> str:
    """The pg_dump and pg_restore lines for a PostgreSQL deployment (no password in them)."""
    return (
        "PostgreSQL is backed up with its own tools (the URL as in MYPAGE_DATABASE_URL):\n"
        f'  pg_dump --format=custom --file="{target}" "$MYPAGE_DATABASE_URL"\n'
        "restore into an empty database of the same name, with the app stopped:\n"
        f'  pg_restore --clean --if-exists --no-owner --dbname="$MYPAGE_DATABASE_URL" "{target}"'
    )


def _copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupRefused(f"no database file at {source}")
    if target.exists():
        raise BackupRefused(f"{target} already exists; choose a new file")
    if not target.parent.is_dir():
        raise BackupRefused(f"no folder {target.parent}")
    # SQLite's online backup: a consistent snapshot while others read and write
    # (WAL); it copies pages in steps and restarts if a writer changes them.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
        finally:
            dst.close()
    finally:
        src.close()


async def backup(url: str, target: Path) -> Path:
    """Copy the SQLite database at `url` to a new file `target` (off the event loop)."""
    if is_postgres(url):
        raise BackupRefused(postgres_instructions(target))
    await asyncio.to_thread(_copy, sqlite_file(url), target)
    return target
