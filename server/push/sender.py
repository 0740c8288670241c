"""Web Push delivery with pywebpush's webpush_async over one bounded aiohttp pool.

One queued notice (one member, one month) goes to each of the member's
devices at once. Per device: 2xx records the delivery (never sent there
again), 404/410 deletes the subscription, 429 keeps the Retry-After, 5xx and
timeouts are tried again later with backoff, any other 4xx counts as a
failure and, after a few in a row, removes the subscription. A member left
with no device that took the notice gets it by mail instead (if they want).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from tortoise.exceptions import IntegrityError

from server.config import Settings
from server.push.models import PushDelivery, PushSubscription
from server.push.outbox_bridge import DeliveryError, RetryAfter, enqueue_fallback_mail
from server.push.service import preference_of, push_body

log = logging.getLogger(__name__)
MAX_FAILURES = 5
LONGEST_RETRY_AFTER = 24 * 3600


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


class PushClient:
    """A shared aiohttp session and a bound on requests in flight, for one event loop."""

    def __init__(self, settings: Settings, vapid: Vapid) -> None:
        self.settings = settings
        self.vapid = vapid
        self.limit = asyncio.Semaphore(max(1, settings.push_concurrency))
        self.timeout = aiohttp.ClientTimeout(total=settings.push_timeout_seconds)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(1, settings.push_concurrency)),
            timeout=self.timeout,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.session.close()

    async def __aenter__(self) -> PushClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(
        self, subscription: PushSubscription, body: bytes, payload: dict[str, Any], now: datetime
    ) -> DeviceResult:
        """Encrypt (aes128gcm), sign (VAPID) and POST one message to one device."""
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        headers = {"Urgency": payload.get("urgency", "normal")}
        if payload.get("push_topic"):
            headers["Topic"] = payload["push_topic"]
        async with self.limit:
            try:
                response = await webpush_async(
                    subscription_info=info,
                    data=body.decode(),
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.settings.vapid_subject},
                    ttl=self.settings.push_ttl_seconds,
                    headers=headers,
                    timeout=self.timeout,
                    aiohttp_session=self.session,
                )
            except WebPushException as error:
                return classify(error.status_code, error.retry_after, now)
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                return DeviceResult(Outcome.RETRY, reason=f"{type(error).__name__}: {error}"[:200])
        status = getattr(response, "status", None)
        return classify(status, None, now)


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


async def _record(
    sub: PushSubscription, result: DeviceResult, notice_key: str, now: datetime
) -> None:
    if result.outcome is Outcome.DELIVERED:
        try:
            await PushDelivery.create(
                subscription_id=sub.id, notice_key=notice_key, delivered_at=now
            )
        except IntegrityError:
            pass  # another sender got there first; the device has it either way
        await PushSubscription.filter(id=sub.id).update(
            last_delivered_at=now, failures=0, last_error=""
        )
    elif result.outcome is Outcome.GONE:
        await PushSubscription.filter(id=sub.id).delete()
    elif result.outcome is Outcome.FAILED and sub.failures + 1 >= MAX_FAILURES:
        await PushSubscription.filter(id=sub.id).delete()
    else:
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


async def deliver_notice(
    payload: dict[str, Any], client: PushClient, now: datetime, settings: Settings
) -> NoticeReport:
    """Deliver one queued notice to every device of its member that has not had it yet.

    Raises `RetryAfter` (429) or a temporary `DeliveryError` (5xx, timeouts)
    when some device should be tried again; the devices that took it are not
    sent it again on the next attempt.
    """
    report = NoticeReport()
    member_id = int(payload["member_id"])
    notice_key = str(payload["notice_key"])
    preference = await preference_of(member_id)
    if not getattr(preference, str(payload.get("topic", "new_statement")), True):
        report.skipped = True
        return report
    devices = await PushSubscription.filter(member_id=member_id)
    done = set(
        await PushDelivery.filter(
            subscription_id__in=[d.id for d in devices], notice_key=notice_key
        ).values_list("subscription_id", flat=True)
    )
    report.already = len(done)
    todo = [d for d in devices if d.id not in done]
    body = push_body(payload)
    results = await asyncio.gather(*(client.send(d, body, payload, now) for d in todo))
    for device, result in zip(todo, results, strict=True):
        await _record(device, result, notice_key, now)
        if result.outcome is Outcome.DELIVERED:
            report.delivered += 1
        elif result.outcome is Outcome.GONE:
            report.gone += 1
        elif result.outcome is Outcome.RETRY:
            report.retry += 1
            if result.retry_after is not None:
                report.retry_after.append(result.retry_after)
        else:
            report.failed += 1
    if report.retry:
        reasons = ", ".join(sorted({r.reason for r in results if r.outcome is Outcome.RETRY}))
        if report.retry_after:
            raise RetryAfter(f"push: {reasons}", retry_after=max(report.retry_after))
        raise DeliveryError(f"push: {reasons}", temporary=True)
    if report.delivered + report.already == 0 and preference.mail_fallback:
        report.mailed = await _fall_back_to_mail(payload, settings, now)
    return report


__all__ = ["DeliveryError", "PushClient", "RetryAfter", "deliver_notice", "shared_client"]
