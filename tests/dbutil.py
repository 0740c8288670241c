"""Test databases: one template migrated per run, a fresh copy per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from server.db import is_postgres


def base_url() -> str:
    """MYPAGE_TEST_DATABASE_URL, or empty for SQLite in a temp dir."""
    return os.environ.get("MYPAGE_TEST_DATABASE_URL", "")


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants postgresql://; Tortoise accepts postgres://."""
    return "postgresql://" + url.split("://", 1)[1]


async def pg_execute(url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class TemplateDatabase:
    """A database migrated once; tests get cheap copies of it."""

    def __init__(self, workdir: Path) -> None:
        self.base = base_url()
        self.postgres = bool(self.base) and is_postgres(self.base)
        self.workdir = workdir
        suffix = uuid.uuid4().hex[:10]
        self.template_name = f"mypage_tpl_{suffix}"
        self.template_file = workdir / "template.sqlite3"

    @property
    def template_url(self) -> str:
        """Where migrations are applied once."""
        if self.postgres:
            return with_database(self.base, self.template_name)
        return f"sqlite://{self.template_file}"

    async def create(self) -> None:
        """Create the (empty) template database."""
        if self.postgres:
            await pg_execute(self.base, f'CREATE DATABASE "{self.template_name}"')

    async def copy(self) -> str:
        """A fresh database for one test; returns its URL."""
        name = f"mypage_t_{uuid.uuid4().hex[:12]}"
        if self.postgres:
            await pg_execute(self.base, f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"')
            return with_database(self.base, name)
        target = self.workdir / f"{name}.sqlite3"
        shutil.copyfile(self.template_file, target)
        return f"sqlite://{target}"

    async def drop(self, url: str) -> None:
        """Remove a test database."""
        if self.postgres:
            name = urlsplit(url).path.lstrip("/")
            await pg_execute(self.base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            path = url[len("sqlite://") :].split("?", 1)[0]
            for extra in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path + extra)

    async def destroy(self) -> None:
        """Drop the template at the end of the run."""
        if self.postgres:
            await pg_execute(
                self.base, f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)'
            )
