"""Running the outbox sender inside `mypage serve`, and alone as `mypage worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from quart import Quart, current_app

from server.config import Settings
from server.lib.clock import Clock
from server.mail.catcher import MailCatcher
from server.mail.sender import OutboxSender
from server.mail.senders import SMTPTarget
from server.maintenance import run_cleanup

log = logging.getLogger(__name__)
SENDER_KEY = "MYPAGE_OUTBOX_SENDER"
CATCHER_KEY = "MYPAGE_MAIL_CATCHER"


def smtp_target(settings: Settings, catcher: MailCatcher | None) -> SMTPTarget:
    """MYPAGE_SMTP_HOST when set (in every environment); else development's catcher."""
    if settings.smtp_host or catcher is None:
        return SMTPTarget.from_settings(settings)
    return SMTPTarget(host=catcher.host, port=catcher.port)


def install(app: Quart, settings: Settings, clock: Clock) -> None:
    """Start the sender after the database opens and stop it before it closes."""

    @app.while_serving
    async def outbox_sender() -> AsyncGenerator[None, None]:
        if not settings.outbox_sender:
            yield
            return
        catcher = None
        if settings.is_development and not settings.smtp_host:
            catcher = MailCatcher()
            await asyncio.to_thread(catcher.start)
            app.config[CATCHER_KEY] = catcher
            log.info("development mail catcher on port %s: read mail at /dev/mail", catcher.port)
        sender = OutboxSender(settings, clock, smtp=smtp_target(settings, catcher))
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
            for task in tasks:
                try:
                    await asyncio.wait_for(task, timeout=10)
                except TimeoutError:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            app.config.pop(SENDER_KEY, None)
            if catcher is not None:
                await asyncio.to_thread(catcher.stop)


def wake_sender() -> None:
    """After a request queued mail: deliver now rather than at the next poll."""
    sender: OutboxSender | None = current_app.config.get(SENDER_KEY)
    if sender is not None:
        sender.wake()


async def run_worker(
    settings: Settings, clock: Clock, stop: asyncio.Event, catcher: MailCatcher | None = None
) -> None:
    """`mypage worker`: the sender (and the hourly cleanup), until `stop` is set."""
    sender = OutboxSender(settings, clock, smtp=smtp_target(settings, catcher))
    await asyncio.gather(sender.run(stop), run_cleanup(settings, clock, stop))
