"""Loads in flight, by key: whoever asks for the same thing meanwhile waits for the same load.

One member's pages under load all want the same session row when its copy
runs out; several members open the same statement PDF at once. Each load
runs in a task of its own, shielded, so a visitor who goes away does not
cancel it for the others (`lib/ttl_cache.py`, `statements/pdf_cache.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class SharedLoads:
    """The loads now running, by key."""

    def __init__(self) -> None:
        """No load running."""
        self.running: dict[Hashable, asyncio.Future[Any]] = {}

    async def load(
        self, key: Hashable, load: Callable[[], Awaitable[T]], keep: Callable[[T], None]
    ) -> T:
        """`load()`'s result, started now or already running; `keep(result)` once, when it succeeds.

        A load dropped meanwhile (`drop`) still answers its waiters, but its
        result is not kept and the next caller starts a fresh one.
        """
        task = self.running.get(key)
        if task is None:
            task = self.running[key] = asyncio.ensure_future(load())
            task.add_done_callback(partial(self._done, key, keep))
        result: T = await asyncio.shield(task)
        return result

    def _done(self, key: Hashable, keep: Callable[[Any], None], task: asyncio.Future[Any]) -> None:
        # The outcome first, so that a failure nobody waits for any more is not
        # reported as never retrieved; the waiters get it from `shield` anyway.
        failed = task.cancelled() or task.exception() is not None
        if self.running.get(key) is not task:
            return
        del self.running[key]
        if not failed:
            keep(task.result())

    def drop(self, key: Hashable | None = None) -> None:
        """Do not keep what this key's load (or every load, None) brings."""
        if key is None:
            self.running.clear()
        else:
            self.running.pop(key, None)
