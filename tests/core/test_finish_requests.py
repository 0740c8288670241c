"""A request under way runs to its end, even when the visitor disconnects meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart, request
from tortoise.transactions import in_transaction

from server.auth.web import csrf_free, public
from server.members.models import Member
from tests.factories import make_member

GONE = {"type": "http.disconnect"}


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "extensions": {},
    }


def _slow_view(app: Quart, release: asyncio.Event, started: asyncio.Event) -> None:
    @app.get("/test-slow-write")
    @public
    async def slow_write() -> str:
        started.set()
        async with in_transaction():
            await release.wait()
            await make_member(member_no="49999999")
        return "written"


async def _run(
    app: Quart, messages: list[dict[str, Any]], scope: dict[str, Any] | None = None
) -> tuple[asyncio.Task, list]:
    """Start one request whose visitor sends `messages`, then waits forever."""
    sent: list[dict[str, Any]] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.ensure_future(app(scope or _scope("/test-slow-write"), queue.get, send))
    return task, sent


async def test_a_visitor_who_leaves_does_not_cut_a_request_short(app: Quart) -> None:
    release, started = asyncio.Event(), asyncio.Event()
    _slow_view(app, release, started)
    task, sent = await _run(app, [{"type": "http.request", "body": b""}, GONE])
    await asyncio.wait_for(started.wait(), 5)
    for _ in range(20):  # the disconnect reaches the app meanwhile
        await asyncio.sleep(0)
    assert not task.done()
    release.set()
    await asyncio.wait_for(task, 5)
    assert await Member.filter(member_no="49999999").exists()
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200]
    # The database is free for the next request (the transaction ended).
    assert await Member.filter(member_no="49999999").count() == 1


async def test_a_request_whose_body_never_ends_gives_up_at_the_body_timeout(app: Quart) -> None:
    app.config["BODY_TIMEOUT"] = 0.2

    @app.post("/test-upload")
    @public
    @csrf_free
    async def upload() -> str:
        await request.get_data()
        await make_member(member_no="49999998")
        return "stored"

    scope = {**_scope("/test-upload"), "method": "POST"}
    cut_off = [{"type": "http.request", "body": b"x", "more_body": True}, GONE]
    task, sent = await _run(app, cut_off, scope)
    await asyncio.wait_for(task, 5)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [408]
    assert not await Member.filter(member_no="49999998").exists()
