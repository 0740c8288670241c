"""The outbox sender: claims due messages, delivers them per channel, retries with backoff.

Claiming marks rows `sending` with a lease. On PostgreSQL the rows are
picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so several senders (one per
hypercorn worker, plus `mypage worker`) never take the same message; on
SQLite each row is claimed by a conditional UPDATE, and one sender is enough.
A sender that dies mid-delivery leaves a lease that runs out, and the
message is tried again (the Message-ID stays the same).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from server.audit.service import Actor, record
from server.config import Settings
from server.db import is_postgres
from server.lib.clock import Clock
from server.mail.events import MailEvent
from server.mail.models import OutboxMessage, OutboxStatus
from server.mail.senders import (
    BATCH_HANDLERS,
    HANDLERS,
    DeliveryContext,
    DeliveryError,
    SMTPTarget,
)

log = logging.getLogger(__name__)

# Modules that register a channel handler when imported; one line per channel.
CHANNEL_MODULES = ["server.mail.senders", "server.push.outbox_bridge"]
BATCH = 200
SEQUENTIAL_CHANNELS = frozenset({"mail"})
CHANNEL_BATCH = 100  # messages a batch handler gets in one call
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Payload keys dropped once delivered: a mail body may hold a code or a link,
# which the outbox has no reason to keep.
FORGET_AFTER_SENDING: dict[str, tuple[str, ...]] = {"mail": ("body",)}


def retry_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, doubling, at most an hour."""
    return min(FIRST_RETRY * (2 ** min(attempts - 1, 20)), LONGEST_RETRY)


def _load_channels() -> None:
    for name in CHANNEL_MODULES:
        importlib.import_module(name)


class OutboxSender:
    """Delivers what is due in the outbox; `run_once` for one pass, `run` until stopped."""

    def __init__(self, settings: Settings, clock: Clock, *, smtp: SMTPTarget | None = None) -> None:
        _load_channels()
        self.settings = settings
        self.clock = clock
        self.context = DeliveryContext(settings, smtp or SMTPTarget.from_settings(settings))
        self.give_up_after = timedelta(hours=settings.outbox_give_up_hours)
        self.postgres = is_postgres(settings.database_url)
        self.wake_event = asyncio.Event()

    async def claim(self, now: datetime, limit: int = BATCH) -> list[OutboxMessage]:
        """Take up to `limit` due messages for this sender."""
        due = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
            status=OutboxStatus.SENDING, locked_until__lte=now
        )
        lease = {"status": OutboxStatus.SENDING, "locked_until": now + LEASE}
        if self.postgres:
            async with in_transaction() as conn:
                rows = (
                    await OutboxMessage.filter(due)
                    .order_by("next_attempt_at", "id")
                    .limit(limit)
                    .select_for_update(skip_locked=True)
                    .using_db(conn)
                )
                if rows:
                    ids = [row.id for row in rows]
                    await OutboxMessage.filter(id__in=ids).using_db(conn).update(**lease)
            return rows
        # One sender on SQLite (one writer): a single UPDATE claims the
        # candidates, and the lease time, unique to this claim, finds them again.
        ids = await (
            OutboxMessage.filter(due).order_by("next_attempt_at", "id").limit(limit)
        ).values_list("id", flat=True)
        if not ids:
            return []
        stamp = now + LEASE + timedelta(microseconds=secrets.randbelow(1_000_000))
        await OutboxMessage.filter(Q(id__in=list(ids)) & due).update(
            status=OutboxStatus.SENDING, locked_until=stamp
        )
        return await OutboxMessage.filter(id__in=list(ids), locked_until=stamp).order_by("id")

    async def run_once(self) -> int:
        """Deliver every message due now; returns how many were attempted."""
        attempted = 0
        while True:
            rows = await self.claim(self.clock())
            # Mail goes out in order, one SMTP conversation at a time; other
            # channels (push to thousands of members) go out together, so that
            # their HTTP round trips do not wait for each other.
            for row in rows:
                if row.channel in SEQUENTIAL_CHANNELS:
                    await self._deliver(row)
            batched: dict[str, list[OutboxMessage]] = {}
            together = []
            for row in rows:
                if row.channel in SEQUENTIAL_CHANNELS:
                    continue
                if row.channel in BATCH_HANDLERS:
                    batched.setdefault(row.channel, []).append(row)
                else:
                    together.append(row)
            jobs = [self._deliver(row) for row in together]
            for channel, group in batched.items():
                for start in range(0, len(group), CHANNEL_BATCH):
                    jobs.append(self._deliver_batch(channel, group[start : start + CHANNEL_BATCH]))
            await asyncio.gather(*jobs)
            attempted += len(rows)
            if len(rows) < BATCH:
                return attempted

    async def _deliver(self, row: OutboxMessage) -> None:
        handler = HANDLERS.get(row.channel)
        try:
            if handler is None:
                raise DeliveryError(f"no handler for channel {row.channel!r}", temporary=False)
            await handler(row.payload, self.context)
        except DeliveryError as error:
            await self._failed(row, error)
        except Exception as error:  # a bug in a handler must not stop the sender
            log.exception("outbox message %s: handler crashed", row.id)
            await self._failed(row, DeliveryError(repr(error), temporary=True))
        else:
            await self._sent(row)

    async def _deliver_batch(self, channel: str, rows: list[OutboxMessage]) -> None:
        handler = BATCH_HANDLERS[channel]
        try:
            results = await handler([row.payload for row in rows], self.context)
        except Exception as error:  # a bug in a handler must not stop the sender
            log.exception("outbox batch of %s %s messages: handler crashed", len(rows), channel)
            results = [DeliveryError(repr(error), temporary=True)] * len(rows)
        delivered = [row.id for row, result in zip(rows, results, strict=True) if result is None]
        if delivered:
            await OutboxMessage.filter(id__in=delivered).update(
                status=OutboxStatus.SENT,
                attempts=F("attempts") + 1,
                sent_at=self.clock(),
                locked_until=None,
                last_error="",
            )
        for row, result in zip(rows, results, strict=True):
            if result is not None:
                await self._failed(row, result)

    async def _sent(self, row: OutboxMessage) -> None:
        forget = FORGET_AFTER_SENDING.get(row.channel, ())
        payload = {key: value for key, value in row.payload.items() if key not in forget}
        await OutboxMessage.filter(id=row.id).update(
            payload=payload,
            status=OutboxStatus.SENT,
            attempts=row.attempts + 1,
            sent_at=self.clock(),
            locked_until=None,
            last_error="",
        )

    async def _failed(self, row: OutboxMessage, error: DeliveryError) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        too_old = now - row.created_at >= self.give_up_after
        if error.temporary and not too_old:
            log.warning(
                "outbox message %s (%s): attempt %s failed, will retry: %s",
                row.id,
                row.channel,
                attempts,
                error.reason,
            )
            asked = getattr(error, "retry_after", None)  # e.g. a push service's 429
            delay = timedelta(seconds=asked) if asked else retry_delay(attempts)
            await OutboxMessage.filter(id=row.id).update(
                status=OutboxStatus.PENDING,
                attempts=attempts,
                next_attempt_at=now + delay,
                locked_until=None,
                last_error=error.reason,
            )
            return
        log.error(
            "outbox message %s (%s): given up after %s attempts: %s",
            row.id,
            row.channel,
            attempts,
            error.reason,
        )
        await OutboxMessage.filter(id=row.id).update(
            status=OutboxStatus.FAILED,
            attempts=attempts,
            locked_until=None,
            last_error=error.reason,
        )
        await record(
            MailEvent.GIVE_UP,
            Actor(kind="system"),
            now,
            message_id=row.id,
            channel=row.channel,
            template=row.payload.get("template", ""),
            attempts=attempts,
            reason=error.reason,
        )

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self.wake_event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a database hiccup is logged and retried."""
        poll = max(self.settings.outbox_poll_seconds, 0.05)
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox sender: pass failed; trying again")
            self.wake_event.clear()
            waiters: Sequence[asyncio.Task[bool]] = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self.wake_event.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
