"""The per-process cache: one load shared by the requests that ask meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from server.lib.ttl_cache import TtlCache


class Loader:
    """Counts its loads; each waits until `release` is set."""

    def __init__(self, value: object = "row") -> None:
        self.calls = 0
        self.value = value
        self.release = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


async def test_requests_asking_meanwhile_share_one_load() -> None:
    cache, load = TtlCache(5), Loader()
    waiting = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiting) == ["row"] * 20
    assert load.calls == 1
    assert await cache.get_or_load("k", load) == "row" and load.calls == 1  # kept


async def test_a_value_dropped_while_loading_is_not_kept() -> None:
    cache, load = TtlCache(5), Loader()
    first = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    cache.pop("k")  # e.g. a sign-out while the session row was being read
    load.release.set()
    assert await first == "row"
    assert cache.get("k") is None
    await cache.get_or_load("k", load)
    assert load.calls == 2


@pytest.mark.parametrize("drop", [lambda c: c.clear(), lambda c: c.forget(lambda _: True)])
async def test_clearing_forgets_loads_in_flight(drop) -> None:
    cache, load = TtlCache(5), Loader()
    first = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    drop(cache)
    load.release.set()
    await first
    assert cache.get("k") is None


async def test_nothing_and_failures_are_not_kept() -> None:
    cache = TtlCache(5)
    none = Loader(None)
    none.release.set()
    assert await cache.get_or_load("k", none) is None
    assert await cache.get_or_load("k", none) is None
    assert none.calls == 2
    failing = Loader(RuntimeError("database gone"))
    waiting = [asyncio.ensure_future(cache.get_or_load("f", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    failing.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and failing.calls == 1
    assert cache.get("f") is None and not cache.loading.running


async def test_a_visitor_who_leaves_does_not_cancel_the_others() -> None:
    cache, load = TtlCache(5), Loader()
    leaving = asyncio.ensure_future(cache.get_or_load("k", load))
    staying = asyncio.ensure_future(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    leaving.cancel()
    load.release.set()
    assert await staying == "row"
    assert cache.get("k") == "row"


async def test_without_seconds_every_call_loads() -> None:
    cache, load = TtlCache(0), Loader()
    load.release.set()
    await cache.get_or_load("k", load)
    await cache.get_or_load("k", load)
    assert load.calls == 2 and not cache.rows
