"""The outbox's "push" channel: queued notices handed to `deliver_notices`, batch by batch.

`RetryAfter` (a push service's 429) and temporary `DeliveryError`s tell the
sender to try a notice again; the devices that took it are not sent it twice.
The process's aiohttp pool is closed when the channel closes (the sender stops).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from server.config import Settings
from server.lib.clock import system_clock
from server.outbox.channels import Channel, DeliveryError
from server.push.delivery import deliver_notice, deliver_notices, raise_for_retry
from server.push.models import PUSH_CHANNEL
from server.push.sender import close_shared_clients, shared_client
from server.push.vapid import load_vapid


def push_channel(settings: Settings) -> Channel:
    """The "push" channel: one notice at a time, or a batch in one database round."""

    async def deliver(payload: dict[str, Any]) -> None:
        client = await shared_client(settings, load_vapid(settings))
        await deliver_notice(payload, client, system_clock(), settings)

    async def deliver_batch(payloads: list[dict[str, Any]]) -> list[DeliveryError | None]:
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

    return Channel(PUSH_CHANNEL, deliver, deliver_batch)


@asynccontextmanager
async def open_push(settings: Settings) -> AsyncIterator[Channel]:
    """The channel while the sender runs; the HTTP pools it opened are closed after."""
    try:
        yield push_channel(settings)
    finally:
        await close_shared_clients()
