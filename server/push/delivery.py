"""Delivering queued notices: each to every device of its member that has not had it.

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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server import metrics
from server.auth.models import Account
from server.config import Settings
from server.lib.batches import chunks
from server.mail.compose import enqueue_mail
from server.outbox.channels import DeliveryError, RetryAfter
from server.push.models import PushDelivery, PushPreference, PushSubscription
from server.push.sender import TARGET_FIELDS, DeviceResult, Outcome, PushClient, Target
from server.push.service import default_preference, push_body

MAX_FAILURES = 5


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


async def _load(
    payloads: list[dict[str, Any]],
) -> tuple[dict[int, PushPreference], dict[int, list[Target]], set[tuple[int, str]]]:
    """Preferences, devices and earlier deliveries of a batch: a few queries, not per notice."""
    member_ids = sorted({int(p["member_id"]) for p in payloads})
    preferences: dict[int, PushPreference] = {}
    devices: dict[int, list[Target]] = {}
    for chunk in chunks(member_ids):
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
    for chunk in chunks(subscription_ids):
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
    if gone:
        metrics.PUSH_PRUNED.inc(len(gone))


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
            for chunk in chunks(sorted({s.id for s, _ in delivered})):
                await PushSubscription.filter(id__in=chunk).update(
                    last_delivered_at=now, failures=0, last_error=""
                )
        for chunk in chunks(gone):
            await PushSubscription.filter(id__in=chunk).delete()
        for sub, result in failing:
            await PushSubscription.filter(id=sub.id).update(
                failures=sub.failures + 1, last_error=result.reason[:200]
            )


async def _member_email(member_id: int) -> str | None:
    account = await Account.filter(member_id=member_id).first()
    return account.email if account is not None else None


async def _fall_back_to_mail(payload: dict[str, Any], settings: Settings, now: datetime) -> bool:
    member_id = int(payload["member_id"])
    email = await _member_email(member_id)
    if not email:
        return False
    # The mail that stands in for a push notice no device received.
    await enqueue_mail(
        email,
        "push_notice",
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
        wants_mail = wants_mail and bool(payload.get("mail_fallback", True))
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
