"""Running the outbox sender inside `mypage serve`, and alone as `mypage worker`.

The entry point names the channels: each is opened (an async context
manager: a catcher to start, an HTTP pool to close) for as long as the
sender runs, and closed after it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from quart import Quart, current_app

from server.config import Settings
from server.lib.clock import Clock
from server.maintenance import run_cleanup
from server.outbox.channels import Channel
from server.outbox.sender import OutboxSender

log = logging.getLogger(__name__)
SENDER_KEY = "MYPAGE_OUTBOX_SENDER"
# Opens one channel for the sender's lifetime (and closes what it holds after).
ChannelOpener = Callable[[], AbstractAsyncContextManager[Channel]]


@contextlib.asynccontextmanager
async def open_channels(openers: Sequence[ChannelOpener]) -> AsyncIterator[list[Channel]]:
    """Every channel open, closed again in reverse order on the way out."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(opener()) for opener in openers]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def install(app: Quart, settings: Settings, clock: Clock, openers: Sequence[ChannelOpener]) -> None:
    """Start the sender on these channels after the database opens; stop it before it closes."""

    @app.while_serving
    async def outbox_sender() -> AsyncGenerator[None, None]:
        if not settings.outbox_sender:
            yield
            return
        async with open_channels(openers) as channels:
            sender = OutboxSender(settings, clock, channels)
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(sender.run(stop), name="outbox-sender"),
                asyncio.create_task(run_cleanup(settings, clock, stop), name="cleanup"),
            ]
            app.config[SENDER_KEY] = sender
            try:
                yield
            finally:
                stop.set()
                await _stop(tasks)
                app.config.pop(SENDER_KEY, None)


def wake_sender() -> None:
    """After a request queued work: deliver now rather than at the next poll."""
    sender: OutboxSender | None = current_app.config.get(SENDER_KEY)
    if sender is not None:
        sender.wake()


async def run_worker(
    settings: Settings, clock: Clock, stop: asyncio.Event, openers: Sequence[ChannelOpener]
) -> None:
    """`mypage worker`: the sender on these channels (and the hourly cleanup), until `stop`."""
    async with open_channels(openers) as channels:
        sender = OutboxSender(settings, clock, channels)
        await asyncio.gather(sender.run(stop), run_cleanup(settings, clock, stop))
