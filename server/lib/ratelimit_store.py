"""Rate-limit stores that forget what no longer limits anyone.

quart-rate-limiter keeps one "theoretical arrival time" (TAT) per endpoint,
limit and client for ever: its in-process store grows with every address
that ever posted a form, and its Redis keys never expire. A TAT in the past
limits nothing (the limiter takes `max(stored, now)`), so dropping it is
lossless.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from quart_rate_limiter.redis_store import RedisStore
from quart_rate_limiter.store import MemoryStore

# The in-process store sweeps out past TATs after this many writes.
SWEEP_EVERY = 1000


class ExpiringMemoryStore(MemoryStore):
    """The in-process store (one worker), swept now and then."""

    def __init__(self) -> None:
        """An empty store."""
        super().__init__()
        self._writes = 0

    async def set(self, key: str, tat: datetime) -> None:
        """Keep a TAT; every `SWEEP_EVERY` writes, drop those already past."""
        await super().set(key, tat)
        self._writes += 1
        if self._writes >= SWEEP_EVERY:
            self.sweep(datetime.now(UTC))

    def sweep(self, now: datetime) -> None:
        """Forget every TAT at or before `now`."""
        self._writes = 0
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}

    def __len__(self) -> int:
        """How many TATs are kept."""
        return len(self._tats)


class ExpiringRedisStore(RedisStore):
    """The shared store for several workers, each key expiring when its TAT passes."""

    async def set(self, key: str, tat: datetime) -> None:
        """Keep a TAT until it is past (plus a second: the limiter reads its own clock)."""
        left = (tat - datetime.now(UTC)).total_seconds()
        ttl_ms = max(1, math.ceil(left * 1000)) + 1000
        await self._redis.set(key, tat.timestamp(), px=ttl_ms)  # type: ignore[union-attr]
