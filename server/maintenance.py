"""Housekeeping: delete rows whose time is over (sessions, codes, links, sent mail)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from tortoise.models import Model

from server.account.models import (
    AuthCode,
    KnownDevice,
    PasswordReset,
    Registration,
    RememberedBrowser,
)
from server.account.service import DEVICE_LIFETIME
from server.auth.models import Session
from server.config import Settings
from server.lib.clock import Clock
from server.outbox.models import OutboxMessage, OutboxStatus
from server.pages.models import HomeNews
from server.passkeys.models import WebAuthnChallenge
from server.requests.models import EmailChange
from server.staff.models import StaffSession, StaffSetupLink

log = logging.getLogger(__name__)
# Used and expired one-time rows stay a day, so "this link has expired" can still be told apart.
GRACE = timedelta(days=1)
SENT_MAIL_KEPT = timedelta(days=30)
EVERY = timedelta(hours=1)


async def purge_expired(now: datetime, settings: Settings) -> dict[str, int]:
    """Delete what can no longer be used; returns how many rows went, per table."""
    idle = timedelta(minutes=settings.session_idle_minutes)
    staff_idle = timedelta(minutes=settings.staff_idle_minutes)
    targets: list[tuple[type[Model], dict[str, object]]] = [
        (Session, {"expires_at__lte": now}),
        (Session, {"last_seen_at__lte": now - idle}),
        (StaffSession, {"expires_at__lte": now}),
        (StaffSession, {"last_seen_at__lte": now - staff_idle}),
        (WebAuthnChallenge, {"expires_at__lte": now}),
        (AuthCode, {"expires_at__lte": now - GRACE}),
        (Registration, {"expires_at__lte": now - GRACE}),
        (PasswordReset, {"expires_at__lte": now - GRACE}),
        (EmailChange, {"expires_at__lte": now - GRACE}),
        (StaffSetupLink, {"expires_at__lte": now - GRACE}),
        (RememberedBrowser, {"expires_at__lte": now}),
        (KnownDevice, {"last_seen_at__lte": now - DEVICE_LIFETIME}),
        (OutboxMessage, {"status": OutboxStatus.SENT, "sent_at__lte": now - SENT_MAIL_KEPT}),
        # Home's 新着 shows nothing older than this: the row can never show again.
        (HomeNews, {"at__lt": now - timedelta(days=settings.home_news_days)}),
    ]
    counts: dict[str, int] = {}
    for model, where in targets:
        deleted = await model.filter(**where).delete()
        table = model.describe(serializable=False)["table"]
        counts[table] = counts.get(table, 0) + deleted
    return counts


async def run_cleanup(settings: Settings, clock: Clock, stop: asyncio.Event) -> None:
    """Purge once an hour until `stop` is set (inside `mypage serve` and `mypage worker`)."""
    while not stop.is_set():
        try:
            counts = await purge_expired(clock(), settings)
            if any(counts.values()):
                log.info("cleanup: %s", ", ".join(f"{k}={v}" for k, v in counts.items() if v))
        except Exception:  # a failed pass must not stop serving; the next hour tries again
            log.exception("cleanup failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=EVERY.total_seconds())
        except TimeoutError:
            pass
