"""The one way CPU-bound work leaves the event loop: `await run_cpu(func, *args)`.

Password hashing (argon2id, ~30 ms of CPU), push encryption and PDF rendering run here, on
one process-wide pool of low-priority threads, one per core. Linux weighs
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
from functools import lru_cache, partial
from typing import Any, TypeVar

LOW_NICE = 19
T = TypeVar("T")


def _low_priority() -> None:
    # Linux nice values are per thread: only this pool's threads change.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_NICE)


@lru_cache(maxsize=1)
def cpu_pool() -> ThreadPoolExecutor:
    """The process's CPU threads (one per core, at nice 19), made on first use."""
    return ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix="cpu", initializer=_low_priority
    )


async def run_cpu(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `func(*args, **kwargs)` on a low-priority CPU thread and wait for its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(cpu_pool(), partial(func, *args, **kwargs))
