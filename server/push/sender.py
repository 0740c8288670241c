"""Web Push delivery: pywebpush's encryption, py_vapid's JWT, one bounded aiohttp pool.

pywebpush's `webpush_async` would encrypt and sign on the event loop, per
message: during a 30,000-notice fan-out that stalled the loop (and every page
the same process serves) by 100 ms and more. So the encryption
(`WebPusher.encode`, RFC 8291 aes128gcm) runs in low-priority threads, the
VAPID header is signed once an hour per push service, and the POST goes
through one shared aiohttp session with a bounded number in flight.

One queued notice (one member, one month) goes to each of the member's
devices at once. Per device: 2xx records the delivery (never sent there
again), 404/410 deletes the subscription, 429 keeps the Retry-After, 5xx and
timeouts are tried again later with backoff, any other 4xx counts as a
failure and, after a few in a row, removes the subscription. A member left
with no device that took the notice gets it by mail instead (if they want).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPusher
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.config import Settings
from server.push.models import PushDelivery, PushPreference, PushSubscription
from server.push.outbox_bridge import DeliveryError, RetryAfter, enqueue_fallback_mail
from server.push.service import default_preference, push_body

log = logging.getLogger(__name__)
MAX_FAILURES = 5
LONGEST_RETRY_AFTER = 24 * 3600
VAPID_LIFETIME = 12 * 3600
VAPID_REUSE = 3600


class Outcome(Enum):
    """What happened to one device."""

    DELIVERED = "delivered"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class DeviceResult:
    """The answer of the push service for one device."""

    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None
    reason: str = ""


@dataclass
class NoticeReport:
    """What one notice did (returned for tests and the benchmark)."""

    delivered: int = 0
    already: int = 0
    gone: int = 0
    retry: int = 0
    failed: int = 0
    mailed: bool = False
    skipped: bool = False
    retry_after: list[float] = field(default_factory=list)
    reasons: set[str] = field(default_factory=set)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), LONGEST_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), LONGEST_RETRY_AFTER))


def classify(status: int | None, retry_after: str | None, now: datetime) -> DeviceResult:
    """Sort a push service's answer into what we do next."""
    if status is None:
        return DeviceResult(Outcome.RETRY, reason="no response")
    if 200 <= status < 300:
        return DeviceResult(Outcome.DELIVERED, status)
    if status in (404, 410):
        return DeviceResult(Outcome.GONE, status, reason=f"HTTP {status}")
    if status == 429:
        return DeviceResult(
            Outcome.RETRY, status, parse_retry_after(retry_after, now), f"HTTP {status}"
        )
    if status >= 500:
        return DeviceResult(
            Outcome.RETRY, status, parse_retry_after(retry_after, now), f"HTTP {status}"
        )
    return DeviceResult(Outcome.FAILED, status, reason=f"HTTP {status}")


@dataclass(frozen=True)
class Target:
    """What sending to one device needs (read without building ORM objects)."""

    id: int
    member_id: int
    endpoint: str
    p256dh: str
    auth: str
    failures: int


TARGET_FIELDS = ("id", "member_id", "endpoint", "p256dh", "auth", "failures")


class PushClient:
    """A shared aiohttp session, a bound on requests in flight and VAPID headers, per loop."""

    def __init__(self, settings: Settings, vapid: Vapid) -> None:
        self.settings = settings
        self.vapid = vapid
        self.limit = asyncio.Semaphore(max(1, settings.push_concurrency))
        self.timeout = aiohttp.ClientTimeout(total=settings.push_timeout_seconds)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(1, settings.push_concurrency)),
            timeout=self.timeout,
            # Push services set no cookies worth keeping and send no bodies worth inflating.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
        )
        self._vapid_headers: dict[str, tuple[float, dict[str, str]]] = {}

    async def close(self) -> None:
        """Close the connection pool."""
        await self.session.close()

    async def __aenter__(self) -> PushClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        """The signed VAPID Authorization for one push service, reused for an hour.

        Signing per message would cost an ECDSA signature each time; the JWT
        says nothing about the message, only who sends to which service.
        Its `exp` is real time (push services check it), 12 hours ahead.
        """
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        wall = time.time()
        cached = self._vapid_headers.get(audience)
        if cached is None or cached[0] < wall:
            claims = {
                "sub": self.settings.vapid_subject,
                "aud": audience,
                "exp": int(wall) + VAPID_LIFETIME,
            }
            cached = (wall + VAPID_REUSE, dict(self.vapid.sign(claims)))
            self._vapid_headers[audience] = cached
        return cached[1]

    async def send(
        self, subscription: Target, body: bytes, payload: dict[str, Any], now: datetime
    ) -> DeviceResult:
        """Encrypt (aes128gcm, off the event loop), sign (VAPID) and POST to one device."""
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        headers = {
            "TTL": str(self.settings.push_ttl_seconds),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": payload.get("urgency", "normal"),
            **self.vapid_headers(subscription.endpoint),
        }
        if payload.get("push_topic"):
            headers["Topic"] = payload["push_topic"]
        async with self.limit:
            try:
                data = await asyncio.get_running_loop().run_in_executor(
                    _crypto_pool(), encrypt, info, body
                )
            except (ValueError, TypeError) as error:  # keys the browser gave are unusable
                return DeviceResult(Outcome.FAILED, reason=f"keys: {error}"[:200])
            try:
                async with self.session.post(
                    subscription.endpoint, data=data, headers=headers, allow_redirects=False
                ) as response:
                    await response.read()
                    return classify(response.status, response.headers.get("Retry-After"), now)
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                return DeviceResult(Outcome.RETRY, reason=f"{type(error).__name__}: {error}"[:200])


def encrypt(info: dict[str, Any], body: bytes) -> bytes:
    """RFC 8291 aes128gcm encryption for one subscription (pywebpush's WebPusher.encode)."""
    encoded: bytes = WebPusher(info).encode(body, "aes128gcm")["body"]
    return encoded


def _lower_priority() -> None:
    # Per-thread nice on Linux: encryption yields the CPU to the event loop
    # thread, so pages stay fast while an import fans out.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


@lru_cache(maxsize=1)
def _crypto_pool() -> ThreadPoolExecutor:
    """Encryption threads (one per core), created on first use."""
    return ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix="webpush", initializer=_lower_priority
    )


_shared: dict[int, PushClient] = {}


async def shared_client(settings: Settings, vapid: Vapid) -> PushClient:
    """The process's client for the running event loop (used by the outbox handler)."""
    key = id(asyncio.get_running_loop())
    client = _shared.get(key)
    if client is None or client.session.closed:
        client = _shared[key] = PushClient(settings, vapid)
    return client


async def close_shared_clients() -> None:
    """Close the pools at shutdown."""
    for client in list(_shared.values()):
        await client.close()
    _shared.clear()


def _chunks(items: list[int], size: int = 500) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _load(
    payloads: list[dict[str, Any]],
) -> tuple[dict[int, PushPreference], dict[int, list[Target]], set[tuple[int, str]]]:
    """Preferences, devices and earlier deliveries of a batch: a few queries, not per notice."""
    member_ids = sorted({int(p["member_id"]) for p in payloads})
    preferences: dict[int, PushPreference] = {}
    devices: dict[int, list[Target]] = {}
    for chunk in _chunks(member_ids):
        for row in await PushPreference.filter(member_id__in=chunk):
            preferences[row.member_id] = row  # type: ignore[attr-defined]
        found = (
            await PushSubscription.filter(member_id__in=chunk)
            .order_by("id")
            .values_list(*TARGET_FIELDS)
        )
        for values in found:
            target = Target(*values)
            devices.setdefault(target.member_id, []).append(target)
    subscription_ids = [s.id for subs in devices.values() for s in subs]
    keys = sorted({str(p["notice_key"]) for p in payloads})
    done: set[tuple[int, str]] = set()
    for chunk in _chunks(subscription_ids):
        rows = await PushDelivery.filter(
            subscription_id__in=chunk, notice_key__in=keys
        ).values_list("subscription_id", "notice_key")
        done.update((int(sid), str(key)) for sid, key in rows)
    return preferences, devices, done


async def _save(sent: list[tuple[Target, str, DeviceResult]], now: datetime) -> None:
    """Write every device's outcome of a batch in one transaction."""
    delivered = [(s, key) for s, key, r in sent if r.outcome is Outcome.DELIVERED]
    gone = [s.id for s, _, r in sent if r.outcome is Outcome.GONE]
    gone += [
        s.id for s, _, r in sent if r.outcome is Outcome.FAILED and s.failures + 1 >= MAX_FAILURES
    ]
    failing = [(s, r) for s, _, r in sent if r.outcome is Outcome.RETRY] + [
        (s, r) for s, _, r in sent if r.outcome is Outcome.FAILED and s.id not in gone
    ]
    try:
        await _write(delivered, gone, failing, now)
    except IntegrityError:
        # A device was removed by its member while the batch was on the wire:
        # write row by row so that the others' records are not lost.
        for sub, key in delivered:
            with contextlib.suppress(IntegrityError):
                await _write([(sub, key)], [], [], now)
        await _write([], gone, failing, now)


async def _write(
    delivered: list[tuple[Target, str]],
    gone: list[int],
    failing: list[tuple[Target, DeviceResult]],
    now: datetime,
) -> None:
    async with in_transaction():
        if delivered:
            # Another sender may have recorded one first: the device has it either way.
            await PushDelivery.bulk_create(
                [
                    PushDelivery(subscription_id=s.id, notice_key=key, delivered_at=now)
                    for s, key in delivered
                ],
                batch_size=500,
                ignore_conflicts=True,
            )
            for chunk in _chunks(sorted({s.id for s, _ in delivered})):
                await PushSubscription.filter(id__in=chunk).update(
                    last_delivered_at=now, failures=0, last_error=""
                )
        for chunk in _chunks(gone):
            await PushSubscription.filter(id__in=chunk).delete()
        for sub, result in failing:
            await PushSubscription.filter(id=sub.id).update(
                failures=sub.failures + 1, last_error=result.reason[:200]
            )


async def _member_email(member_id: int) -> str | None:
    from server.auth.models import Account

    account = await Account.filter(member_id=member_id).first()
    return account.email if account is not None else None


async def _fall_back_to_mail(payload: dict[str, Any], settings: Settings, now: datetime) -> bool:
    member_id = int(payload["member_id"])
    email = await _member_email(member_id)
    if not email:
        return False
    await enqueue_fallback_mail(
        email,
        settings,
        now,
        dedupe_key=f"mail:push:{member_id}:{payload['notice_key']}",
        title=payload["title"],
        body=payload["body"],
        url=settings.base_url.rstrip("/") + payload["url"],
    )
    return True


async def deliver_notices(
    payloads: list[dict[str, Any]], client: PushClient, now: datetime, settings: Settings
) -> list[NoticeReport]:
    """Deliver a batch of queued notices, each to every device of its member not yet sent it.

    Every device is sent to at once (bounded by the client's pool); the
    database is read in a few queries and written in one transaction per
    batch. Returns one report per notice; a report with `retry` > 0 asks for
    another attempt (see `raise_for_retry`).
    """
    preferences, devices, done = await _load(payloads)
    reports = [NoticeReport() for _ in payloads]
    jobs: list[tuple[int, Target, str, bytes, dict[str, Any]]] = []
    for index, payload in enumerate(payloads):
        member_id, key = int(payload["member_id"]), str(payload["notice_key"])
        preference = preferences.get(member_id) or default_preference(member_id)
        if not getattr(preference, str(payload.get("topic", "new_statement")), True):
            reports[index].skipped = True
            continue
        body = push_body(payload)
        for sub in devices.get(member_id, []):
            if (sub.id, key) in done:
                reports[index].already += 1
            else:
                jobs.append((index, sub, key, body, payload))
    results = await asyncio.gather(*(client.send(s, b, p, now) for _, s, _, b, p in jobs))
    await _save([(s, key, r) for (_, s, key, _, _), r in zip(jobs, results, strict=True)], now)
    for (index, _, _, _, _), result in zip(jobs, results, strict=True):
        report = reports[index]
        if result.outcome is Outcome.DELIVERED:
            report.delivered += 1
        elif result.outcome is Outcome.GONE:
            report.gone += 1
        elif result.outcome is Outcome.RETRY:
            report.retry += 1
            report.reasons.add(result.reason)
            if result.retry_after is not None:
                report.retry_after.append(result.retry_after)
        else:
            report.failed += 1
    for payload, report in zip(payloads, reports, strict=True):
        chosen = preferences.get(int(payload["member_id"]))
        wants_mail = chosen.mail_fallback if chosen is not None else True
        nothing_reached = report.delivered + report.already == 0
        if wants_mail and nothing_reached and not report.skipped and not report.retry:
            report.mailed = await _fall_back_to_mail(payload, settings, now)
    return reports


def raise_for_retry(report: NoticeReport) -> None:
    """What the outbox understands: RetryAfter (429) or a temporary DeliveryError."""
    if not report.retry:
        return
    reasons = ", ".join(sorted(report.reasons))
    if report.retry_after:
        raise RetryAfter(f"push: {reasons}", retry_after=max(report.retry_after))
    raise DeliveryError(f"push: {reasons}", temporary=True)


async def deliver_notice(
    payload: dict[str, Any], client: PushClient, now: datetime, settings: Settings
) -> NoticeReport:
    """Deliver one queued notice; raises `RetryAfter` / temporary `DeliveryError` to retry.

    The devices that took it are not sent it again on the next attempt.
    """
    [report] = await deliver_notices([payload], client, now, settings)
    raise_for_retry(report)
    return report


__all__ = [
    "DeliveryError",
    "PushClient",
    "RetryAfter",
    "deliver_notice",
    "deliver_notices",
    "shared_client",
]
