"""A plain read-only SQLite connection for the session lookup on every request.

Through Tortoise, each query on SQLite waits for the one shared connection's
lock and then hops to aiosqlite's thread and back; under load the thread also
waits for the GIL while the event loop renders other pages, so every signed-in
page queued behind a ~2 ms round trip for a sub-millisecond query. A point
lookup on a unique index in WAL mode reads committed data without blocking
writers, so it runs here, on the event loop, on a second connection: a session
deleted by a sign-out (in any worker) is gone for the very next request.
Anything unusual (in-memory database, a busy lock) falls back to the ORM.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

# Readers never wait for writers in WAL mode; this only bounds the rare
# moments (recovery, a checkpoint restart) when SQLite asks a reader to wait,
# after which the query goes through the ORM instead of holding the event loop.
BUSY_SECONDS = 0.05


class Reader:
    """One query-only connection to a database file, used from one thread."""

    def __init__(self, client: object, filename: str) -> None:
        """Open the connection beside the ORM's own."""
        self.client = client
        self.connection = sqlite3.connect(
            Path(filename).resolve().as_uri() + "?mode=ro",
            uri=True,
            timeout=BUSY_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )

    def fetch(self, query: str, parameter: str) -> list[tuple[Any, ...]] | None:
        """The rows of a query, or None when SQLite asks us to wait (use the ORM then)."""
        try:
            # fetchall ends the statement, so no read snapshot is left open.
            return self.connection.execute(query, (parameter,)).fetchall()
        except sqlite3.OperationalError:
            return None

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


_local = threading.local()


def for_client(client: Any) -> Reader | None:
    """The reader for this ORM client's database file, or None when it has none."""
    reader: Reader | None = getattr(_local, "reader", None)
    if reader is not None and reader.client is client:
        return reader
    filename = getattr(client, "filename", None)
    if not isinstance(filename, str) or not filename or filename.startswith(":memory:"):
        return None
    close()
    try:
        reader = Reader(client, filename)
    except sqlite3.Error:
        return None
    _local.reader = reader
    return reader


def close() -> None:
    """Close this thread's reader (when the app stops serving)."""
    reader: Reader | None = getattr(_local, "reader", None)
    if reader is not None:
        _local.reader = None
        reader.close()
