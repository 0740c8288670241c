"""A per-process cache whose entries live a few seconds: `TtlCache`.

Used for what a signed-in page would otherwise read on every request and
what changes seldom: a member's session, account and member
(`auth/session_store.py`) and home's 新着 (`pages/news.py`). The process
that changes such a thing drops its entry at once; other processes see the
change within `seconds` (MYPAGE_SESSION_CACHE_SECONDS).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

# Entries one cache keeps at most (signed-in members; a few hundred bytes each).
CACHE_ENTRIES = 10_000


class TtlCache:
    """Values this process loaded, by key, each kept `seconds` (0: none)."""

    def __init__(self, seconds: float = 0) -> None:
        """An empty cache keeping values for `seconds`."""
        self.seconds = seconds
        self.rows: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable) -> Any | None:
        """The value cached under `key`, if it is younger than `seconds`."""
        found = self.rows.get(key)
        if found is None:
            return None
        if time.monotonic() - found[0] >= self.seconds:
            self.rows.pop(key, None)
            return None
        return found[1]

    def put(self, key: Hashable, row: Any) -> None:
        """Keep a value just loaded (when caching is on), dropping the oldest beyond the cap."""
        if self.seconds <= 0:
            return
        if len(self.rows) >= CACHE_ENTRIES:
            self.rows.pop(next(iter(self.rows)))
        self.rows[key] = (time.monotonic(), row)

    def pop(self, key: Hashable) -> None:
        """Drop the value cached under `key`."""
        self.rows.pop(key, None)

    def forget(self, matches: Callable[[Any], bool]) -> None:
        """Drop every cached value for which `matches(value)` is true."""
        for key in [key for key, (_, row) in self.rows.items() if matches(row)]:
            self.rows.pop(key, None)

    def keep_for(self, seconds: float) -> None:
        """Keep values this many seconds from now on (0: none), and drop what is kept."""
        self.seconds = seconds
        self.rows.clear()
