"""The one way CPU-bound work leaves the event loop: `await run_cpu(func, *args)`.

Password hashing (argon2id, ~30 ms of CPU), push encryption and PDF rendering run here, on
one process-wide pool of low-priority threads: one fewer than the cores (at
least one; MYPAGE_CPU_THREADS sets another number), so that a burst of
sign-ins never holds every core and the event loop keeps one to serve
pages on. Measured on the 2-core VM (`bench/foundation_bench.py`,
bench/RESULTS.md 2026-12-05, "Session 8"): home's p99 during 20 sign-ins
went from 2.6x to 1.3-1.8x its idle p99, for a third fewer sign-ins a second
(91 -> 60 per process on one VM, 44 on a slower one; far above what members
make). Linux weighs
nice 19 at ~1.5 % of nice 0, so the event loop's thread gets its core back
whenever it has a page to serve. Not SCHED_IDLE: a thread of the idle class
that is preempted while it holds the GIL (a hash's few lines of Python around
the C call) can keep the event loop waiting until its core is otherwise idle.
Blocking I/O (files, sockets of libraries without asyncio) goes through
`asyncio.to_thread` instead, at normal priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

LOW_NICE = 19
T = TypeVar("T")


def _low_priority() -> None:
    # Linux nice values are per thread: only this pool's threads change.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_NICE)


def default_cpu_threads() -> int:
    """One thread fewer than this machine's cores, and at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass
class _Pool:
    threads: int
    executor: ThreadPoolExecutor | None = None


_POOL = _Pool(default_cpu_threads())


def set_cpu_threads(threads: int) -> None:
    """Size the pool (MYPAGE_CPU_THREADS; 0: cores - 1), replacing one of another size."""
    wanted = threads or default_cpu_threads()
    if wanted == _POOL.threads:
        return
    old, _POOL.executor, _POOL.threads = _POOL.executor, None, wanted
    if old is not None:
        old.shutdown(wait=False)  # work already given to it still finishes


def cpu_threads() -> int:
    """How many threads the pool has (or will have)."""
    return _POOL.threads


def cpu_pool() -> ThreadPoolExecutor:
    """The process's CPU threads (at nice 19), made on first use."""
    if _POOL.executor is None:
        _POOL.executor = ThreadPoolExecutor(
            max_workers=_POOL.threads, thread_name_prefix="cpu", initializer=_low_priority
        )
    return _POOL.executor


async def run_cpu(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `func(*args, **kwargs)` on a low-priority CPU thread and wait for its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(cpu_pool(), partial(func, *args, **kwargs))
