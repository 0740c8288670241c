"""Rate-limit stores forget what no longer limits anyone (in-process and real Redis)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from redis import asyncio as aioredis

from server.config import Settings
from server.lib import ratelimit_store
from server.lib.ratelimit_store import (
    ExpiringMemoryStore,
    ExpiringRedisStore,
    FailureCounter,
    FailureLimit,
)
from tests.helpers import wrong_sign_in

REDIS_URL = "redis://127.0.0.1:6379/15"


async def test_memory_store_sweeps_out_past_arrival_times(monkeypatch) -> None:
    store = ExpiringMemoryStore()
    now = datetime.now(UTC)
    await store.set("past", now - timedelta(seconds=1))
    await store.set("live", now + timedelta(minutes=5))
    assert len(store) == 2
    store.sweep(now)
    assert len(store) == 1
    assert await store.get("live", now) == now + timedelta(minutes=5)
    assert await store.get("past", now) == now  # as if never seen: the default
    # It sweeps by itself every SWEEP_EVERY writes.
    monkeypatch.setattr(ratelimit_store, "SWEEP_EVERY", 3)
    for name in ("gone-1", "gone-2"):
        await store.set(name, now - timedelta(seconds=2))
    assert len(store) == 3
    await store.set("gone-3", now - timedelta(seconds=2))  # the third write since the sweep
    assert len(store) == 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's rate limits in the real Redis server, as several workers keep them."""
    return settings.replace(redis_url=REDIS_URL)


async def test_redis_store_limits_and_its_keys_expire(client) -> None:
    address = f"192.0.2.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"
    scope = {"client": (address, 40000)}
    statuses = [await wrong_sign_in(client, scope_base=scope) for _ in range(11)]
    assert statuses == [400] * 10 + [429]
    redis = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(f"*{address}*")]
        # The sign-in's two ceilings and its two failure budgets (issue 15, defect 7).
        assert len(keys) == 4
        failures = [key for key in keys if key.startswith(b"failures-")]
        assert len(failures) == 2
        ttls = sorted([await redis.pttl(key) for key in failures])
        # Each key lives until its limit no longer holds anything back, not for ever.
        # (10 failures a minute: 6 s each; 100 an hour: 36 s each; ten failures counted.)
        assert 50_000 < ttls[0] <= 61_000
        assert 350_000 < ttls[1] <= 361_000
        ceilings = sorted([await redis.pttl(key) for key in keys if key not in failures])
        # 300 a minute and 3000 an hour: 0.2 s and 1.2 s for each of the eleven posts.
        assert ceilings[0] <= 3_300 and ceilings[1] <= 14_300
    finally:
        for key in keys:
            await redis.delete(key)
        await redis.aclose()


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_failure_counter_counts_failures_in_either_store(kind: str) -> None:
    store = ExpiringMemoryStore() if kind == "memory" else ExpiringRedisStore(REDIS_URL)
    await store.before_serving()
    counter = FailureCounter(store)
    name = f"test-{secrets.token_hex(6)}"
    limits = (FailureLimit(3, timedelta(minutes=1)), FailureLimit(5, timedelta(hours=1)))
    try:
        for _ in range(3):
            assert await counter.retry_after(name, limits) is None
            await counter.spend(name, limits)
        wait = await counter.retry_after(name, limits)
        assert wait is not None and 1 <= wait <= 20  # the next failure is 20 s away
        assert await counter.retry_after(name + "-other", limits) is None
    finally:
        if kind == "redis":
            redis = aioredis.from_url(REDIS_URL)
            for key in [k async for k in redis.scan_iter(f"*{name}*")]:
                await redis.delete(key)
            await redis.aclose()
        await store.after_serving()
