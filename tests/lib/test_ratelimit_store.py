"""Rate-limit stores forget what no longer limits anyone (in-process and real Redis)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from redis import asyncio as aioredis

from server.config import Settings
from server.lib import ratelimit_store
from server.lib.ratelimit_store import ExpiringMemoryStore
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
        assert len(keys) == 2  # the minute and the hour limits of sign-in
        ttls = sorted([await redis.pttl(key) for key in keys])
        # Each key lives until its limit no longer holds anything back, not for ever.
        # (10 a minute: 6 s per try; 100 an hour: 36 s per try; ten tries counted.)
        assert 50_000 < ttls[0] <= 61_000
        assert 350_000 < ttls[1] <= 361_000
    finally:
        for key in keys:
            await redis.delete(key)
        await redis.aclose()
