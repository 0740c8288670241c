"""A request the app has started runs to its end, even when the visitor goes away.

Quart cancels a view the moment its client disconnects (it races the view
against the `http.disconnect` message). A cancelled view stops at whatever
it awaits, and Tortoise's transactions do not survive that at one point:
cancelled after `in_transaction()` has taken its lock (SQLite) or a pooled
connection (PostgreSQL) but before `BEGIN` has come back, the transaction
never ends, so the lock or the connection is never given back. On SQLite
every later query of the process then waits forever (seen under
`bench/card_speed_bench.py`: wrk closes its connections at the end of a
run, and the next certificate issued never answered); on PostgreSQL the
pool loses a connection each time.

This ASGI middleware (the standard way to wrap an ASGI app, as the health
probes do) holds `http.disconnect` back until the app has sent its whole
response: a form that was sent is carried out or refused as a whole, whether
or not anyone is still there to read the answer. Even a body cut off
half-way: a view may already be running (a GET does not wait for its body),
and one that waits for the rest of it gives up at Quart's body timeout
(408), as it would for a visitor who stopped sending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from quart import Quart

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def finish_requests(inner: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so that a visitor's disconnect never cancels a request under way."""

    async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        answered = asyncio.Event()

        async def receive_until_answered() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                await answered.wait()
            return message

        async def send_and_note(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered.set()

        try:
            await inner(scope, receive_until_answered, send_and_note)
        finally:
            answered.set()

    return app


def install(app: Quart) -> None:
    """Let every request the app has started run to its end."""
    app.asgi_app = finish_requests(app.asgi_app)  # type: ignore[method-assign,arg-type,assignment]
