"""Rate-limit stores that forget what no longer limits anyone.

quart-rate-limiter keeps one "theoretical arrival time" (TAT) per endpoint,
limit and client for ever: its in-process store grows with every address
that ever posted a form, and its Redis keys never expire. A TAT in the past
limits nothing (the limiter takes `max(stored, now)`), so dropping it is
lossless.

`FailureCounter` keeps, in the same store, failed attempts only (sign-in,
codes): people sharing one address are not held back by each other's
successes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from quart_rate_limiter.redis_store import RedisStore
from quart_rate_limiter.store import MemoryStore, RateLimiterStoreABC

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


@dataclass(frozen=True)
class FailureLimit:
    """At most `count` failed attempts per `period` (for one endpoint and client)."""

    count: int
    period: timedelta

    @property
    def spacing(self) -> float:
        """Seconds each failure pushes the client's arrival time forward."""
        return self.period.total_seconds() / self.count


class FailureCounter:
    """Failed attempts per client, kept in the limiter's own store (in-process or Redis).

    The same GCRA as quart-rate-limiter, but an attempt spends from the budget
    only once it has failed, so successes (a whole school signing in from one
    address) cost nothing. Attempts that fail together are all counted: a
    burst then waits as much longer, so over an hour no more than the hour's
    budget of failures gets through.
    """

    def __init__(self, store: RateLimiterStoreABC) -> None:
        """Count in `store`: the one the app's RateLimiter uses."""
        self.store = store

    @staticmethod
    def _key(name: str, limit: FailureLimit) -> str:
        return f"failures-{name}-{limit.count}-{limit.period.total_seconds()}"

    async def _tat(self, key: str, now: datetime) -> datetime:
        stored = await self.store.get(key, now)
        if stored.tzinfo is None:  # Redis gives back a naive local time
            stored = stored.astimezone(UTC)
        return max(stored, now)

    async def retry_after(self, name: str, limits: Iterable[FailureLimit]) -> int | None:
        """Seconds to wait when `name` has no failure left in some limit, else None."""
        now = datetime.now(UTC)  # the limiter's own clock: the TATs are shared with it
        for limit in limits:
            ahead = (await self._tat(self._key(name, limit), now) - now).total_seconds()
            allowed = limit.period.total_seconds() - limit.spacing
            if ahead > allowed:
                return max(1, math.ceil(ahead - allowed))
        return None

    async def spend(self, name: str, limits: Iterable[FailureLimit]) -> None:
        """Count one failure of `name` in every limit."""
        now = datetime.now(UTC)
        for limit in limits:
            key = self._key(name, limit)
            tat = await self._tat(key, now)
            await self.store.set(key, tat + timedelta(seconds=limit.spacing))
