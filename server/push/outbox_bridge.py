"""Push through the outbox: queueing notices, the fallback mail, and the "push" channel.

Notices are outbox rows (channel "push") written in the caller's transaction;
the outbox sender hands each to `deliver_push_message`, which reaches every
device of the member. `RetryAfter` tells the sender when a push service asked
to be tried again (429 Retry-After).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.config import Settings
from server.mail.models import OutboxMessage
from server.mail.outbox import enqueue, enqueue_mail
from server.mail.senders import DeliveryError, register_batch_channel, register_channel

PUSH_CHANNEL = "push"


class RetryAfter(DeliveryError):
    """A temporary failure whose push service said when to try again (429 Retry-After)."""

    def __init__(self, reason: str, *, retry_after: float | None) -> None:
        super().__init__(reason, temporary=True)
        self.retry_after = retry_after


async def enqueue_push(payload: dict[str, Any], now: datetime, *, dedupe_key: str) -> None:
    """Queue one push notice in the caller's transaction (once per dedupe key)."""
    await enqueue(PUSH_CHANNEL, payload, now, dedupe_key=dedupe_key)


async def enqueue_fallback_mail(
    to: str, settings: Settings, now: datetime, *, dedupe_key: str, **context: Any
) -> None:
    """Queue the mail that stands in for a push notice no device received."""
    await enqueue_mail(to, "push_notice", settings, now, dedupe_key=dedupe_key, **context)


async def queued(channel: str) -> list[OutboxMessage]:
    """What the outbox holds on a channel, oldest first (tests and the benchmark)."""
    return await OutboxMessage.filter(channel=channel).order_by("id")


async def deliver_push_message(payload: dict[str, Any], context: Any) -> None:
    """The outbox handler for the "push" channel: deliver one queued notice.

    Returns on success (or when there is nothing left to do); raises
    `RetryAfter` / `DeliveryError(temporary=True)` when a device should be
    tried again, which the sender reschedules.
    """
    from server.lib.clock import system_clock
    from server.push.delivery import deliver_notice
    from server.push.sender import shared_client
    from server.push.vapid import load_vapid

    settings: Settings = context.settings
    client = await shared_client(settings, load_vapid(settings))
    await deliver_notice(payload, client, system_clock(), settings)


async def deliver_push_batch(
    payloads: list[dict[str, Any]], context: Any
) -> list[DeliveryError | None]:
    """The batch handler: one database round for the batch, requests in flight together."""
    from server.lib.clock import system_clock
    from server.push.delivery import deliver_notices, raise_for_retry
    from server.push.sender import shared_client
    from server.push.vapid import load_vapid

    settings: Settings = context.settings
    client = await shared_client(settings, load_vapid(settings))
    reports = await deliver_notices(payloads, client, system_clock(), settings)
    results: list[DeliveryError | None] = []
    for report in reports:
        try:
            raise_for_retry(report)
        except DeliveryError as error:
            results.append(error)
        else:
            results.append(None)
    return results


register_channel(PUSH_CHANNEL, deliver_push_message)
register_batch_channel(PUSH_CHANNEL, deliver_push_batch)
