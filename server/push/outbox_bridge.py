"""THE SEAM between push and the outbox of issue 4 (branch feature/mail-registration).

That branch has `server.mail.outbox.enqueue(channel, payload, now, dedupe_key=)`,
`server.mail.outbox.enqueue_mail(to, template, settings, now, dedupe_key=, **context)`,
`server.mail.senders.DeliveryError(reason, temporary=)`,
`server.mail.senders.register_channel(channel, handler)` with handlers of the
shape `async (payload, context) -> None`, and `CHANNEL_MODULES` in
`server.mail.sender` (modules imported so that they register their channel).
Until both branches meet, this module stands in for them with an in-memory
queue, so that push is complete and tested on its own.

MERGE, in this order:
1. Delete `DeliveryError` below and import it from `server.mail.senders`
   (keep `RetryAfter` as its subclass here).
2. `enqueue_push`: call `server.mail.outbox.enqueue(PUSH_CHANNEL, payload, now,
   dedupe_key=dedupe_key)` instead of `_standin_enqueue` (it then joins the
   caller's transaction, which the stand-in cannot).
3. `enqueue_fallback_mail`: call `server.mail.outbox.enqueue_mail(to,
   "push_notice", settings, now, dedupe_key=dedupe_key, **context)`
   (the template is in server/templates/mail/push_notice/).
4. `queued`: read `OutboxMessage.filter(channel=channel)` rows instead.
5. Register the handler: append `"server.push.outbox_bridge"` to
   `CHANNEL_MODULES` in server/mail/sender.py and uncomment the
   `register_channel(...)` line at the bottom of this module.
6. The sender must honour `RetryAfter.retry_after` (seconds) when it
   reschedules: `next_attempt_at = now + timedelta(seconds=error.retry_after)`
   instead of `retry_delay(attempts)` when the attribute is set, and deliver
   a claimed batch concurrently so that a 30,000-member import is not sent
   one by one: best, hand the push rows of a claimed batch (about 100) to
   `server.push.delivery.deliver_notices(payloads, client, now, settings)`
   in one call (one report per row: `raise_for_retry(report)` says what to
   do with each), with a few batches in flight; that is what
   bench/push_bench.py measures. The sender's stop should also await
   `server.push.sender.close_shared_clients()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.config import Settings

PUSH_CHANNEL = "push"


class DeliveryError(Exception):
    """Stand-in for server.mail.senders.DeliveryError (same constructor and attributes)."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.temporary = temporary


class RetryAfter(DeliveryError):
    """A temporary failure whose push service said when to try again (429 Retry-After)."""

    def __init__(self, reason: str, *, retry_after: float | None) -> None:
        super().__init__(reason, temporary=True)
        self.retry_after = retry_after


@dataclass
class Queued:
    """One queued outbox message as the stand-in keeps it."""

    channel: str
    payload: dict[str, Any]
    dedupe_key: str | None
    created_at: datetime


_STANDIN: dict[str, Queued] = {}
_STANDIN_ORDER: list[Queued] = []


def _standin_enqueue(
    channel: str, payload: dict[str, Any], now: datetime, dedupe_key: str | None
) -> None:
    if dedupe_key is not None and dedupe_key in _STANDIN:
        return
    item = Queued(channel, payload, dedupe_key, now)
    if dedupe_key is not None:
        _STANDIN[dedupe_key] = item
    _STANDIN_ORDER.append(item)


async def enqueue_push(payload: dict[str, Any], now: datetime, *, dedupe_key: str) -> None:
    """Queue one push notice (MERGE: outbox.enqueue in the caller's transaction)."""
    _standin_enqueue(PUSH_CHANNEL, payload, now, dedupe_key)


async def enqueue_fallback_mail(
    to: str, settings: Settings, now: datetime, *, dedupe_key: str, **context: Any
) -> None:
    """Queue the mail that stands in for a push notice (MERGE: outbox.enqueue_mail)."""
    _standin_enqueue("mail", {"to": to, "template": "push_notice", **context}, now, dedupe_key)


async def queued(channel: str) -> list[Queued]:
    """What is waiting on a channel, oldest first (for tests and the benchmark)."""
    return [item for item in _STANDIN_ORDER if item.channel == channel]


def clear_standin() -> None:
    """Empty the stand-in queue (tests)."""
    _STANDIN.clear()
    _STANDIN_ORDER.clear()


async def deliver_push_message(payload: dict[str, Any], context: Any) -> None:
    """The outbox handler for the "push" channel: deliver one queued notice.

    Returns on success (or when there is nothing left to do); raises
    `RetryAfter` / `DeliveryError(temporary=True)` when a device should be
    tried again, which the sender reschedules.
    """
    from server.push.delivery import deliver_notice
    from server.push.sender import shared_client
    from server.push.vapid import load_vapid

    settings: Settings = context.settings
    client = await shared_client(settings, load_vapid(settings))
    await deliver_notice(payload, client, _now(), settings)


def _now() -> datetime:
    from server.lib.clock import system_clock

    return system_clock()


# MERGE: from server.mail.senders import register_channel
# register_channel(PUSH_CHANNEL, deliver_push_message)
