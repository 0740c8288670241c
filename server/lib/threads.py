"""Thread pools for CPU work that must never slow the pages down."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

# Fallback where SCHED_IDLE is unknown: Linux weighs nice 19 at ~1.5 % of nice 0.
IDLE_NICE = 19


def _idle_priority() -> None:
    # Linux schedules threads one by one: only this pool's threads change.
    # SCHED_IDLE runs them whenever a core would otherwise idle, and a page's
    # thread that wakes up takes the core back at once (with a low nice
    # value alone, it could wait for the end of the hash's time slice).
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IDLE_NICE)


def idle_pool(name: str) -> ThreadPoolExecutor:
    """One thread per core that runs only on CPU time the event loop leaves over."""
    return ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix=name, initializer=_idle_priority
    )
