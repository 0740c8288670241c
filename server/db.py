"""Tortoise ORM set-up: one config for the app, the CLI and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import set_global_context
from tortoise.migrations.api import migrate as migrate_api

# One Tortoise app per feature, each with its own migrations package under
# server/migrations/<label>/, so features evolve their tables independently.
APPS: dict[str, list[str]] = {
    "core": [
        "server.members.models",
        "server.auth.models",
        "server.audit.models",
    ],
    # The outbox's table kept the label it was created under (its migrations live there).
    "mail": ["server.outbox.models"],
    "account": ["server.account.models"],
    # Inquiries and help documents keep the "requests" label (and their
    # tables and migrations) though their models live in their own packages.
    "requests": [
        "server.requests.models",
        "server.inquiries.models",
        "server.help.models",
    ],
    "passkeys": ["server.passkeys.models"],
    "billing": [
        "server.statements.models",
        "server.capital.models",
    ],
    "push": ["server.push.models"],
    "staff": ["server.staff.models"],
    "notices": ["server.notices.models"],
    "staff_imports": ["server.staff.imports.models"],
    "card": ["server.card.models"],
    "imports": ["server.imports.models"],
    "pages": ["server.pages.models"],
}

SQLITE_BUSY_TIMEOUT_MS = 5000


def database_url(url: str, pool_size: int | None = None) -> str:
    """Add SQLite pragmas (WAL is Tortoise's default; busy timeout is ours), or the pool size.

    On PostgreSQL each process keeps up to `pool_size` connections
    (MYPAGE_DB_POOL_SIZE); a `maxsize` already in the URL wins.
    """
    if is_postgres(url):
        return _with_pool_size(url, pool_size)
    if not url.startswith("sqlite://"):
        return url
    # Not through urlsplit/urlunsplit: they turn sqlite:////abs/path into a
    # relative path (the empty host is dropped), and the database then could
    # not be opened. Extra leading slashes mean the same absolute path.
    path, _, raw_query = url[len("sqlite://") :].partition("?")
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    query = dict(parse_qsl(raw_query))
    query.setdefault("busy_timeout", str(SQLITE_BUSY_TIMEOUT_MS))
    query.setdefault("journal_mode", "WAL")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite://{path}?{urlencode(query)}"


def _with_pool_size(url: str, pool_size: int | None) -> str:
    base, _, raw_query = url.partition("?")
    query = dict(parse_qsl(raw_query))
    if pool_size is None or "maxsize" in query:
        return url
    query["maxsize"] = str(pool_size)
    query["minsize"] = str(min(int(query.get("minsize", "1")), pool_size))
    return f"{base}?{urlencode(query)}"


def tortoise_config(url: str, pool_size: int | None = None) -> dict[str, Any]:
    """The Tortoise config dict for a database URL (and, on PostgreSQL, a pool size)."""
    return {
        "connections": {"default": database_url(url, pool_size)},
        "apps": {
            label: {
                "models": models,
                "default_connection": "default",
                "migrations": f"server.migrations.{label}",
            }
            for label, models in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(url: str, pool_size: int | None = None) -> None:
    """Open the connections for this process (global, shared by all requests).

    Hypercorn runs the app's start-up in a task of its own, and each request in
    another: the context Tortoise.init sets is made the process's fallback, so
    every task finds it (`close_db` clears it again).
    """
    set_global_context(await Tortoise.init(config=tortoise_config(url, pool_size)))


def connection() -> BaseDBAsyncClient:
    """The connection every feature's models use (one database, named "default")."""
    return connections.get("default")


async def close_db() -> None:
    """Close this process's connections."""
    await Tortoise.close_connections()


async def migrate(url: str) -> None:
    """Apply every migration that the database has not seen yet."""
    await migrate_api(config=tortoise_config(url))
    await Tortoise.close_connections()


def is_postgres(url: str) -> bool:
    """True for a PostgreSQL URL (features such as SKIP LOCKED depend on it)."""
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def speaks_postgres(conn: BaseDBAsyncClient) -> bool:
    """True when an open connection is PostgreSQL's (COPY, SKIP LOCKED, $1 parameters)."""
    return conn.capabilities.dialect == "postgres"


# For `tortoise -c server.db.MIGRATIONS_CONFIG makemigrations` (see `make migrations`):
# the autodetector compares models with migration files and needs no real database.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
