"""A per-process cache whose entries live a few seconds: `TtlCache`.

Used for what a signed-in page would otherwise read on every request and
what changes seldom: a member's session, account and member
(`auth/session_store.py`), home's 新着 (`pages/news.py`) and today's
notices (`notices/cache.py`). The process
that changes such a thing drops its entry at once; other processes see the
change within `seconds` (MYPAGE_SESSION_CACHE_SECONDS).

When an entry runs out while many requests want it (one member's pages
under load), one load serves them all (`get_or_load`): before, each of 50
requests in flight read the session row again, and again touched it, every
few seconds, which held `/card`'s p99 at 50 connections at ~420 ms against
~42 ms without those reloads (wrk, bench/RESULTS.md 2026-12-05).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from server.lib.shared_loads import SharedLoads

# Entries one cache keeps at most (signed-in members; a few hundred bytes each).
CACHE_ENTRIES = 10_000


class TtlCache:
    """Values this process loaded, by key, each kept `seconds` (0: none)."""

    def __init__(self, seconds: float = 0) -> None:
        """An empty cache keeping values for `seconds`."""
        self.seconds = seconds
        self.rows: dict[Hashable, tuple[float, Any]] = {}
        # Loads in flight, by key: requests that ask meanwhile wait for the same one.
        self.loading = SharedLoads()

    def get(self, key: Hashable) -> Any | None:
        """The value cached under `key`, if it is younger than `seconds`."""
        found = self.rows.get(key)
        if found is None:
            return None
        if time.monotonic() - found[0] >= self.seconds:
            self.rows.pop(key, None)
            return None
        return found[1]

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The value cached under `key`, else one `load()` shared by all who ask while it runs.

        A value dropped while its load runs (`pop`, `forget`, `keep_for`) is
        not kept when the load ends; None is never kept.
        """
        if self.seconds <= 0:
            return await load()
        found = self.get(key)
        if found is not None:
            return found
        return await self.loading.load(key, load, lambda value: self._keep(key, value))

    def _keep(self, key: Hashable, value: Any) -> None:
        if value is None:
            return
        if len(self.rows) >= CACHE_ENTRIES:
            self.rows.pop(next(iter(self.rows)))
        self.rows[key] = (time.monotonic(), value)

    def pop(self, key: Hashable) -> None:
        """Drop the value cached under `key` (and forget a load of it in flight)."""
        self.rows.pop(key, None)
        self.loading.drop(key)

    def forget(self, matches: Callable[[Any], bool]) -> None:
        """Drop every cached value for which `matches(value)` is true."""
        for key in [key for key, (_, row) in self.rows.items() if matches(row)]:
            self.rows.pop(key, None)
        # A load in flight may hold a matching value: not kept when it ends.
        self.loading.drop()

    def keep_for(self, seconds: float) -> None:
        """Keep values this many seconds from now on (0: none), and drop what is kept."""
        self.seconds = seconds
        self.clear()

    def clear(self) -> None:
        """Drop everything kept, and forget the loads in flight."""
        self.rows.clear()
        self.loading.drop()
