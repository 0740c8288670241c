"""Health for load balancers and orchestrators, and the metrics endpoint.

Answered in front of the app (an ASGI wrapper), so a probe never loads a
session, sets a cookie, counts against a rate limit or runs a page's hooks:

- `GET /healthz`: the process answers (200 "ok");
- `GET /readyz`: database reachable, migrations current, outbox sender alive
  and not wedged (when this process runs one), Redis reachable (when set):
  200 or 503 with `{"status": ..., "checks": {name: "ok" | "failed" | "off"}}`;
- `GET /metrics`: Prometheus text, only with `Authorization: Bearer
  MYPAGE_METRICS_TOKEN` (404 otherwise, and always when the token is unset).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from quart import Quart
from tortoise import Tortoise

from server import db, metrics
from server.config import Settings
from server.outbox.runtime import SENDER_KEY
from server.security import PRODUCTION_HEADERS, SECURITY_HEADERS

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CHECK_TIMEOUT = 2.0  # seconds a probe waits for the database or Redis
MIGRATIONS_CACHE_SECONDS = 10.0

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def migration_files() -> set[tuple[str, str]]:
    """(app, name) of every migration the code carries."""
    return {
        (label, path.stem)
        for label in db.APPS
        for path in (MIGRATIONS_DIR / label).glob("[0-9]*.py")
    }


class Readiness:
    """The checks behind /readyz, with the migrations' answer cached for a few seconds."""

    def __init__(self, app: Quart, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.files = migration_files()
        self.migrations_checked = 0.0
        self.migrations_ok = False
        self.redis: Any = None

    async def database(self) -> bool:
        """A trivial query answers."""
        conn = Tortoise.get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), CHECK_TIMEOUT)
        return True

    async def migrations(self) -> bool:
        """Every migration file is applied (read at most every few seconds)."""
        if time.monotonic() - self.migrations_checked < MIGRATIONS_CACHE_SECONDS:
            return self.migrations_ok
        conn = Tortoise.get_connection("default")
        _, rows = await asyncio.wait_for(
            conn.execute_query('SELECT "app", "name" FROM "tortoise_migrations"'), CHECK_TIMEOUT
        )
        applied = {(row["app"], row["name"]) for row in rows}
        self.migrations_ok = self.files <= applied
        self.migrations_checked = time.monotonic()
        return self.migrations_ok

    def sender(self) -> bool | None:
        """Alive and completing passes; None when this process runs no sender."""
        sender = self.app.config.get(SENDER_KEY)
        if sender is None:
            return None
        return bool(sender.running) and sender.stale_for() <= self.settings.outbox_stale_seconds

    async def redis_ok(self) -> bool | None:
        """Redis answers PING; None when not configured."""
        if not self.settings.redis_url:
            return None
        if self.redis is None:
            from redis.asyncio import Redis

            self.redis = Redis.from_url(self.settings.redis_url, socket_timeout=CHECK_TIMEOUT)
        return bool(await asyncio.wait_for(self.redis.ping(), CHECK_TIMEOUT))

    async def report(self) -> tuple[bool, dict[str, str]]:
        """Each check's answer: "ok", "failed" or "off" (nothing else: no secrets)."""
        checks: dict[str, str] = {}
        for name, check in (("database", self.database), ("migrations", self.migrations)):
            checks[name] = "ok" if await _safely(name, check) else "failed"
        sender = self.sender()
        checks["outbox_sender"] = "off" if sender is None else ("ok" if sender else "failed")
        if self.settings.redis_url:
            checks["redis"] = "ok" if await _safely("redis", self.redis_ok) else "failed"
        else:
            checks["redis"] = "off"
        return all(value != "failed" for value in checks.values()), checks


async def _safely(name: str, check: Callable[[], Awaitable[bool | None]]) -> bool:
    try:
        return bool(await check())
    except Exception as error:  # a probe reports, it never raises
        log.warning("readiness: %s check failed: %r", name, error)
        return False


def _with_headers(send: Any, extra: list[tuple[bytes, bytes]]) -> Any:
    async def secured(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], *extra]}
        await send(message)

    return secured


async def _respond(
    send: Any, status: int, body: bytes, content_type: str, *, head: bool = False
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def install(app: Quart, settings: Settings) -> None:
    """Answer /healthz, /readyz and /metrics before the app sees the request."""
    readiness = Readiness(app, settings)
    inner: ASGIApp = app.asgi_app  # type: ignore[assignment]
    # The app's security headers (ASVS 3.4): these answers never pass its hooks.
    wanted = PRODUCTION_HEADERS if settings.is_production else SECURITY_HEADERS
    secure = [(name.encode(), value.encode()) for _, name, value in wanted]

    async def probes(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path not in ("/healthz", "/readyz", "/metrics"):
            await inner(scope, receive, send)
            return
        send = _with_headers(send, secure)
        head = scope["method"] == "HEAD"
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"", "text/plain")
            return
        if path == "/healthz":
            await _respond(send, 200, b"ok", "text/plain; charset=utf-8", head=head)
        elif path == "/readyz":
            ready, checks = await readiness.report()
            answer = {"status": "ok" if ready else "unavailable", "checks": checks}
            status = 200 if ready else 503
            await _respond(send, status, json.dumps(answer).encode(), "application/json", head=head)
        else:
            headers = dict(scope.get("headers", []))
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not metrics.authorised(settings, given):
                await _respond(send, 404, b"", "text/plain")
                return
            sender = app.config.get(SENDER_KEY)
            channels = sender.channels if sender is not None else ()
            text, content_type = await metrics.exposition(app.config["MYPAGE_CLOCK"](), channels)
            await _respond(send, 200, text, content_type, head=head)

    app.asgi_app = probes  # type: ignore[method-assign,assignment]
