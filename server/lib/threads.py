"""Thread pools for CPU work that must never slow the pages down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

# Linux weighs nice 19 at ~1.5 % of nice 0: the event loop's thread wins
# the core whenever it has work. Not SCHED_IDLE: a thread of the idle class
# that is preempted while it holds Python's GIL (a hash's few lines of Python
# before and after the C call) can keep the event loop waiting until its core
# is otherwise idle; at nice 19 it gets the GIL back to the loop within
# milliseconds (measured: home p99 during sign-ins 1.75x idle vs 2.12x).
LOW_NICE = 19
PAGE_METHODS = frozenset({"GET", "HEAD"})
T = TypeVar("T")
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


def _low_priority() -> None:
    # Linux nice values are per thread: only this pool's threads change.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_NICE)


def low_priority_pool(name: str, workers: int | None = None) -> ThreadPoolExecutor:
    """Threads (one per core) that yield the CPU to the event loop's thread."""
    return ThreadPoolExecutor(
        max_workers=workers or os.cpu_count() or 1,
        thread_name_prefix=name,
        initializer=_low_priority,
    )


class PageReads:
    """Whether this process is serving page reads (GET and HEAD requests) these days.

    "These days" is now or within the last QUIET seconds: under steady page
    traffic the count of requests in flight touches zero between requests,
    and that must not count as a quiet moment.
    """

    QUIET = 0.2

    def __init__(self) -> None:
        """Nothing in flight yet."""
        self.in_flight = 0
        self.last_end = float("-inf")

    def busy(self) -> bool:
        """A page is being served, or one was within the last QUIET seconds."""
        return self.in_flight > 0 or time.monotonic() - self.last_end < self.QUIET

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The ASGI app, counting its page reads while they run."""

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("type") != "http" or scope.get("method") not in PAGE_METHODS:
                await app(scope, receive, send)
                return
            self.in_flight += 1
            try:
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1
                self.last_end = time.monotonic()

        return counted


PAGES = PageReads()


class _Gate:
    """Admission to a YieldingPool for one event loop (tests run several, one after another)."""

    def __init__(self) -> None:
        self.running = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.recheck: asyncio.TimerHandle | None = None


class YieldingPool:
    """Low-priority threads that leave the pages a core while members are reading them.

    With nobody reading a page, every core works (sign-ins at full speed).
    While pages are being served, one core fewer: on a two-core machine the
    event loop then never has to win its core back from a hash, which is
    what made page times jump while many members signed in at once. Work
    beyond the limit waits here, in order, on the event loop.
    """

    def __init__(self, name: str, cores: int | None = None, pages: PageReads = PAGES) -> None:
        """A pool of `cores` threads (default: the machine's) gated by `pages`."""
        self.cores = cores or os.cpu_count() or 1
        self.pages = pages
        self.executor = low_priority_pool(name, self.cores)
        self._gates: WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = WeakKeyDictionary()

    def limit(self) -> int:
        """How many may run now: every core, or one fewer while pages are being served."""
        return max(1, self.cores - 1) if self.pages.busy() else self.cores

    def _gate(self) -> _Gate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate()
        return gate

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run `func(*args)` in a pool thread once the limit lets it start."""
        gate = self._gate()
        if gate.waiting or gate.running >= self.limit():
            turn = asyncio.get_running_loop().create_future()
            gate.waiting.append(turn)
            self.wake()
            try:
                await turn  # wake() counts us as running before it lets us go
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    gate.running -= 1
                    self.wake()
                else:
                    with contextlib.suppress(ValueError):  # wake() may have dropped it
                        gate.waiting.remove(turn)
                raise
        else:
            gate.running += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)
        finally:
            gate.running -= 1
            self.wake()

    def wake(self) -> None:
        """Let waiting work start, as far as the limit now allows (on this loop)."""
        try:
            gate = self._gate()
        except RuntimeError:  # no running loop
            return
        limit = self.limit()
        while gate.waiting and gate.running < limit:
            turn = gate.waiting.popleft()
            if not turn.done():
                gate.running += 1
                turn.set_result(None)
        if gate.waiting and limit < self.cores and gate.recheck is None:
            # Held back only for the pages: look again once they may have stopped.
            gate.recheck = asyncio.get_running_loop().call_later(
                self.pages.QUIET, self._recheck, gate
            )

    def _recheck(self, gate: _Gate) -> None:
        gate.recheck = None
        self.wake()
