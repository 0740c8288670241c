"""The outbox sender: claims due messages, delivers them per channel, retries with backoff.

Claiming marks rows `sending` with a lease. On PostgreSQL the rows are
picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so several senders (one per
hypercorn worker, plus `mypage worker`) never take the same message; on
SQLite each row is claimed by a conditional UPDATE, and one sender is enough.
A sender that dies mid-delivery leaves a lease that runs out, and the
message is tried again (the Message-ID stays the same).

`run` keeps one loop per lane: mail and push in the first, each channel of
long jobs (a staff import) in a loop of its own, so that a sign-in code is
delivered while an import applies.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from server import metrics
from server.audit.events import MailEvent
from server.audit.service import Actor, record
from server.config import Settings
from server.db import is_postgres
from server.lib.batches import chunks
from server.lib.clock import Clock
from server.outbox.channels import EVERY, Channel, DeliveryError, Lane, RetryAfter, lanes
from server.outbox.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

BATCH = 200
CHANNEL_BATCH = 100  # messages a batch handler gets in one call
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, doubling, at most an hour."""
    return min(FIRST_RETRY * (2 ** min(attempts - 1, 20)), LONGEST_RETRY)


class OutboxSender:
    """Delivers what is due in the outbox; `run_once` for one pass, `run` until stopped."""

    def __init__(self, settings: Settings, clock: Clock, channels: Iterable[Channel]) -> None:
        self.settings = settings
        self.clock = clock
        self.channels = {channel.name: channel for channel in channels}
        self.give_up_after = timedelta(hours=settings.outbox_give_up_hours)
        self.postgres = is_postgres(settings.database_url)
        self.lanes = lanes(self.channels.values())
        self.wake_events: list[asyncio.Event] = []  # one per running loop
        # For readiness: a sender whose first lane (mail, push) stops making
        # progress (a finished pass or message) is wedged.
        self.heartbeat = time.monotonic()
        self.running = False
        self.went_out: set[str] = set()  # channels that delivered since the last pull-forward

    async def claim(
        self, now: datetime, limit: int = BATCH, lane: Lane = EVERY
    ) -> list[OutboxMessage]:
        """Take up to `limit` due messages of the lane; `locked_until` is each one's lease."""
        due = lane.narrow(
            Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=OutboxStatus.SENDING, locked_until__lte=now)
        )
        if self.postgres:
            lease = now + LEASE
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
                    await (
                        OutboxMessage.filter(id__in=ids)
                        .using_db(conn)
                        .update(status=OutboxStatus.SENDING, locked_until=lease)
                    )
            for row in rows:
                row.locked_until = lease
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

    async def run_once(self, stop: asyncio.Event | None = None, lane: Lane = EVERY) -> int:
        """Deliver every message of the lane due now; returns how many were attempted.

        With `stop` set mid-pass, the message being sent is finished and the
        rest of the claim is handed back (lease released) for the next sender.
        """
        attempted = 0
        await self.expire_stale(self.clock())
        while True:
            rows = await self.claim(self.clock(), lane=lane)
            try:
                done = await self._deliver_claim(rows, stop)
            finally:
                # Also on cancellation: what was claimed and not finished goes back.
                await self._release(rows)
            attempted += done
            if stop is not None and stop.is_set():
                return attempted
            pulled = await self._pull_forward(lane)
            if len(rows) < BATCH and not pulled:
                return attempted

    async def _deliver_claim(self, rows: list[OutboxMessage], stop: asyncio.Event | None) -> int:
        now = self.clock()
        live: list[OutboxMessage] = []
        for row in rows:
            if row.expires_at is not None and row.expires_at <= now:
                await self._expired(row)
            else:
                live.append(row)
        attempted = len(rows) - len(live)
        # Mail goes out in order, one SMTP conversation at a time; other
        # channels (push to thousands of members) go out together, so that
        # their HTTP round trips do not wait for each other.
        for row in live:
            if self._sequential(row):
                if stop is not None and stop.is_set():
                    return attempted
                await self._deliver(row)
                attempted += 1
        batched: dict[str, list[OutboxMessage]] = {}
        together = []
        for row in live:
            if self._sequential(row):
                continue
            channel = self.channels.get(row.channel)
            if channel is not None and channel.deliver_batch is not None:
                batched.setdefault(row.channel, []).append(row)
            else:
                together.append(row)
        jobs = [self._deliver(row) for row in together]
        for name, group in batched.items():
            jobs += [self._deliver_batch(name, part) for part in chunks(group, CHANNEL_BATCH)]
        await asyncio.gather(*jobs)
        return attempted + len(together) + sum(len(group) for group in batched.values())

    def _sequential(self, row: OutboxMessage) -> bool:
        channel = self.channels.get(row.channel)
        return channel is not None and channel.sequential

    def forget_content(self, row: OutboxMessage) -> dict:
        """The row's payload without what a finished message must not keep (its body)."""
        channel = self.channels.get(row.channel)
        forget = channel.forget if channel is not None else ()
        return {key: value for key, value in row.payload.items() if key not in forget}

    async def _release(self, rows: list[OutboxMessage]) -> None:
        """Hand back claimed rows still `sending` under this claim's lease (not delivered)."""
        leases: dict[datetime, list[int]] = {}
        for row in rows:
            if row.locked_until is not None:
                leases.setdefault(row.locked_until, []).append(row.id)
        for lease, ids in leases.items():
            released = await OutboxMessage.filter(
                id__in=ids, status=OutboxStatus.SENDING, locked_until=lease
            ).update(status=OutboxStatus.PENDING, locked_until=None)
            if released:
                log.info("outbox sender: %s claimed messages handed back", released)

    async def _pull_forward(self, lane: Lane) -> int:
        """After a delivery succeeded, mail waiting out its backoff is due now."""
        now = self.clock()
        pulled = 0
        went_out = {channel for channel in self.went_out if lane.holds(channel)}
        self.went_out -= went_out
        single_destination = {name for name, ch in self.channels.items() if ch.pull_forward}
        for channel in single_destination & went_out:
            # Not a recipient's own refusal (a full mailbox): only what waited
            # for the server itself.
            pulled += await (
                OutboxMessage.filter(
                    channel=channel,
                    status=OutboxStatus.PENDING,
                    next_attempt_at__gt=now,
                    attempts__gt=0,
                )
                .exclude(last_error__startswith="recipient refused")
                .update(next_attempt_at=now)
            )
        return pulled

    async def expire_stale(self, now: datetime) -> int:
        """Mark `expired` what waits past its content's life (a code, a link): never sent late."""
        # Those already due are expired as they are claimed; these wait out a
        # backoff (next_attempt_at is indexed, so this reads only the waiting).
        rows = await OutboxMessage.filter(
            next_attempt_at__gt=now, status=OutboxStatus.PENDING, expires_at__lte=now
        ).limit(BATCH)
        for row in rows:
            await self._expired(row, only_if=OutboxStatus.PENDING)
        return len(rows)

    async def _expired(
        self, row: OutboxMessage, only_if: OutboxStatus = OutboxStatus.SENDING
    ) -> None:
        payload = self.forget_content(row)
        changed = await OutboxMessage.filter(id=row.id, status=only_if).update(
            payload=payload,
            status=OutboxStatus.EXPIRED,
            locked_until=None,
            last_error="expired before it could be delivered",
        )
        if changed:
            log.warning("outbox message %s (%s): expired before delivery", row.id, row.channel)
            metrics.outbox_result(row.channel, "expired")

    async def _deliver(self, row: OutboxMessage) -> None:
        try:
            await self._deliver_one(row)
        finally:
            self.heartbeat = time.monotonic()

    async def _deliver_one(self, row: OutboxMessage) -> None:
        channel = self.channels.get(row.channel)
        try:
            if channel is None:
                raise DeliveryError(f"no handler for channel {row.channel!r}", temporary=False)
            await channel.deliver(row.payload)
        except DeliveryError as error:
            await self._failed(row, error)
        except Exception as error:  # a bug in a handler must not stop the sender
            log.exception("outbox message %s: handler crashed", row.id)
            await self._failed(row, DeliveryError(repr(error), temporary=True))
        else:
            await self._sent(row)

    async def _deliver_batch(self, channel: str, rows: list[OutboxMessage]) -> None:
        deliver_batch = self.channels[channel].deliver_batch
        assert deliver_batch is not None  # only batch channels are grouped
        try:
            results = await deliver_batch([row.payload for row in rows])
        except Exception as error:  # a bug in a handler must not stop the sender
            log.exception("outbox batch of %s %s messages: handler crashed", len(rows), channel)
            results = [DeliveryError(repr(error), temporary=True)] * len(rows)
        delivered = [row.id for row, result in zip(rows, results, strict=True) if result is None]
        if delivered:
            self.went_out.add(channel)
            metrics.outbox_result(channel, "sent", len(delivered))
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
        payload = self.forget_content(row)
        self.went_out.add(row.channel)
        metrics.outbox_result(row.channel, "sent")
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
            asked = error.retry_after if isinstance(error, RetryAfter) else None
            delay = timedelta(seconds=asked) if asked else retry_delay(attempts)
            metrics.outbox_result(row.channel, "retry")
            await OutboxMessage.filter(id=row.id).update(
                status=OutboxStatus.PENDING,
                attempts=attempts,
                next_attempt_at=now + delay,
                locked_until=None,
                last_error=error.reason,
            )
            return
        metrics.outbox_result(row.channel, "failed")
        log.error(
            "outbox message %s (%s): given up after %s attempts: %s",
            row.id,
            row.channel,
            attempts,
            error.reason,
        )
        await OutboxMessage.filter(id=row.id).update(
            payload=self.forget_content(row),
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
        for event in self.wake_events:
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, one loop per lane; a database hiccup is logged and retried.

        Cancelled (a stop that waited long enough), every loop's pass is
        cancelled: what it claimed and had not finished is handed back.
        """
        poll = max(self.settings.outbox_poll_seconds, 0.05)
        self.running = True
        try:
            first, *rest = self.lanes
            await asyncio.gather(
                self._loop(stop, poll, first, beat=True),
                *(self._loop(stop, poll, lane, beat=False) for lane in rest),
            )
        finally:
            self.running = False

    async def _loop(self, stop: asyncio.Event, poll: float, lane: Lane, *, beat: bool) -> None:
        wake_event = asyncio.Event()
        self.wake_events.append(wake_event)
        while not stop.is_set():
            try:
                # Each pass in a task of its own, so that each starts from a clean
                # context: when Tortoise's begin() fails on a dead connection
                # (the database restarted), the "inside a transaction" mark it
                # set stays in the context of the task that tried, and every
                # later pass in that task would take the savepoint path on the
                # dead connection forever.
                await asyncio.create_task(self.run_once(stop, lane), name="outbox-pass")
            except Exception:
                log.exception("outbox sender: pass failed; trying again")
            else:
                if beat:
                    self.heartbeat = time.monotonic()
            wake_event.clear()
            waiters: Sequence[asyncio.Task[bool]] = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(wake_event.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    def stale_for(self) -> float:
        """Seconds since the last sign of progress (a finished pass or message)."""
        return time.monotonic() - self.heartbeat
