"""Web Push delivery: pywebpush's encryption, py_vapid's JWT, one bounded aiohttp pool.

pywebpush's `webpush_async` would encrypt and sign on the event loop, per
message: during a 30,000-notice fan-out that stalled the loop (and every page
the same process serves) by 100 ms and more. So the encryption
(`WebPusher.encode`, RFC 8291 aes128gcm) runs in low-priority threads, the
VAPID header is signed once an hour per push service, and the POST goes
through one shared aiohttp session with a bounded number in flight.

What happens after each answer is decided in server/push/delivery.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPusher

from server.config import Settings
from server.lib.offload import run_cpu

log = logging.getLogger(__name__)
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
                data = await run_cpu(encrypt, info, body)
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
