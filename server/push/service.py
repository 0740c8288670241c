"""Push rules: which endpoints may be stored, a member's devices and topics, queueing notices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.auth.models import Account
from server.config import Settings
from server.errors import DomainError, NotFound
from server.lib.dates import parse_month
from server.lib.useragent import browser_and_system
from server.outbox.queue import enqueue, enqueue_per_member
from server.push.models import PUSH_CHANNEL, PushDelivery, PushPreference, PushSubscription
from server.push.vapid import b64url_decode

MAX_ENDPOINT = 1000
MAX_DEVICES = 10
TOPICS = ("new_statement", "coop_notices", "change_requests", "security_alerts")
MAX_PAYLOAD_BYTES = 3000


class SubscriptionRefused(DomainError):
    """The browser sent a subscription we will not store."""

    status = 422


@dataclass(frozen=True)
class SubscriptionInput:
    """A checked PushSubscription.toJSON() body."""

    endpoint: str
    p256dh: str
    auth: str


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Exact host, or any subdomain of an entry written ".example.com" or "*.example.com"."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().lower()
        if entry.startswith("*."):
            entry = entry[1:]
        if entry.startswith("."):
            if host.endswith(entry) and len(host) > len(entry):
                return True
        elif host == entry:
            return True
    return False


def check_endpoint(endpoint: Any, settings: Settings) -> str:
    """The endpoint, if it points at an allowed push service; the server will POST to it."""
    refused = SubscriptionRefused(
        "この通知先は登録できません。お使いのブラウザーの標準の通知サービスをご利用ください。"
    )
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise refused
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as error:
        raise refused from error
    host = parts.hostname or ""
    if parts.username or parts.password or parts.fragment or not host:
        raise refused
    if not host_allowed(host, settings.push_allowed_hosts):
        raise refused
    if parts.scheme == "https":
        if settings.is_production and port not in (None, 443):
            raise refused
    elif parts.scheme == "http":
        # A local receiver in development and tests only; members' browsers use https.
        if settings.is_production:
            raise refused
    else:
        raise refused
    return endpoint


def check_keys(keys: Any) -> tuple[str, str]:
    """p256dh (a P-256 public point, 65 bytes uncompressed) and auth (16 bytes), base64url."""
    refused = SubscriptionRefused(
        "通知の設定を受け付けられませんでした。ページを読み込み直して、もう一度お試しください。"
    )
    if not isinstance(keys, dict):
        raise refused
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise refused
    if len(p256dh) > 100 or len(auth) > 40:
        raise refused
    try:
        point = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except ValueError as error:
        raise refused from error
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise refused
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as error:
        raise refused from error
    return p256dh.rstrip("="), auth.rstrip("=")


def check_subscription(body: Any, settings: Settings) -> SubscriptionInput:
    """Validate the browser's PushSubscription.toJSON() body."""
    if not isinstance(body, dict):
        raise SubscriptionRefused("通知の設定を受け付けられませんでした。", status=400)
    endpoint = check_endpoint(body.get("endpoint"), settings)
    p256dh, auth = check_keys(body.get("keys"))
    return SubscriptionInput(endpoint, p256dh, auth)


async def save_subscription(
    member_id: int, data: SubscriptionInput, user_agent: str, now: datetime
) -> tuple[PushSubscription, str]:
    """Store this device for the member (upsert by endpoint).

    Returns the row and what happened: "created", "updated" or "unchanged".
    """
    try:
        return await _upsert(member_id, data, browser_and_system(user_agent), now)
    except IntegrityError:
        # The same browser sent it twice at once: the other request created the row.
        return await _upsert(member_id, data, browser_and_system(user_agent), now)


async def _upsert(
    member_id: int, data: SubscriptionInput, label: tuple[str, str], now: datetime
) -> tuple[PushSubscription, str]:
    async with in_transaction():
        row = await PushSubscription.filter(endpoint=data.endpoint).select_for_update().first()
        if row is not None:
            same = (row.member_id, row.p256dh, row.auth) == (  # type: ignore[attr-defined]
                member_id,
                data.p256dh,
                data.auth,
            )
            if same:  # the page sends it again on every visit: nothing to change
                return row, "unchanged"
            if row.member_id != member_id:  # type: ignore[attr-defined]
                # The browser's subscription belongs to whoever signed in on it last,
                # and the new owner's notices are not the old owner's.
                await PushDelivery.filter(subscription_id=row.id).delete()
                row.member_id = member_id
            row.p256dh, row.auth = data.p256dh, data.auth
            row.browser, row.os = label
            row.updated_at, row.failures, row.last_error = now, 0, ""
            await row.save()
            return row, "updated"
        if await PushSubscription.filter(member_id=member_id).count() >= MAX_DEVICES:
            raise SubscriptionRefused(
                f"通知を受け取る端末は{MAX_DEVICES}台までです。"
                "使っていない端末の通知をオフにしてから、もう一度お試しください。",
                status=409,
            )
        row = await PushSubscription.create(
            member_id=member_id,
            endpoint=data.endpoint,
            p256dh=data.p256dh,
            auth=data.auth,
            browser=label[0],
            os=label[1],
            created_at=now,
            updated_at=now,
        )
        return row, "created"


async def remove_by_endpoint(member_id: int, endpoint: Any) -> PushSubscription:
    """Turn one of the member's own devices off by its endpoint (404 for anyone else's)."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise NotFound("この端末の通知設定は見つかりません。")
    row = await PushSubscription.filter(member_id=member_id, endpoint=endpoint).first()
    if row is None:
        raise NotFound("この端末の通知設定は見つかりません。")
    await row.delete()
    return row


async def forget_device_at_logout(member_id: int, endpoint: Any) -> bool:
    """Signing out on a device also stops its notices; other members' rows are untouched."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        return False
    return bool(await PushSubscription.filter(member_id=member_id, endpoint=endpoint).delete())


async def remove_by_id(member_id: int, subscription_id: int) -> PushSubscription:
    """Turn one of the member's own devices off from the list (404 for anyone else's)."""
    row = await PushSubscription.filter(member_id=member_id, id=subscription_id).first()
    if row is None:
        raise NotFound("この端末の通知設定は見つかりません。")
    await row.delete()
    return row


async def remove_all_for_account(account_id: int) -> int:
    """Stopping the service: every device of the account's member stops receiving notices."""
    account = await Account.filter(id=account_id).first()
    if account is None:
        return 0
    return await PushSubscription.filter(member_id=account.member_id).delete()  # type: ignore[attr-defined]


async def devices_of(member_id: int) -> list[PushSubscription]:
    """The member's devices that receive notices, newest first."""
    return await PushSubscription.filter(member_id=member_id).order_by("-created_at", "-id")


def default_preference(member_id: int) -> PushPreference:
    """The choices of a member who never saved any (new statements on, mail fallback on)."""
    return PushPreference(
        member_id=member_id,
        new_statement=True,
        coop_notices=False,
        change_requests=True,
        security_alerts=True,
        mail_fallback=True,
    )


async def preference_of(member_id: int) -> PushPreference:
    """The member's topic choices (defaults until they save some)."""
    row = await PushPreference.filter(member_id=member_id).first()
    return row if row is not None else default_preference(member_id)


async def save_preference(
    member_id: int, topics: set[str], mail_fallback: bool, now: datetime
) -> PushPreference:
    """Store which topics the member wants by push and whether mail stands in."""
    values: dict[str, Any] = {name: name in topics for name in TOPICS}
    values.update(mail_fallback=mail_fallback, updated_at=now)
    row, _ = await PushPreference.update_or_create(defaults=values, member_id=member_id)
    return row


def statement_notice(member_id: int, month: str) -> dict[str, Any]:
    """The queued payload of a new-statement notice for one member and month."""
    parsed = parse_month(month)
    if parsed is None:
        raise ValueError(f"not a YYYY-MM month: {month!r}")
    year, mon = parsed
    return {
        "member_id": member_id,
        "topic": "new_statement",
        "notice_key": f"statement:{month}",
        "push_topic": f"statement-{year}{mon:02d}",
        "urgency": "normal",
        "title": "ご請求明細のお知らせ",
        "body": f"{year}年{mon}月分のご請求明細をご覧いただけるようになりました。",
        "url": f"/statements/{month}",
        "tag": f"statement-{month}",
    }


def member_notice(
    member_id: int, topic: str, key: str, title: str, body: str, url: str
) -> dict[str, Any]:
    """The queued payload of a notice on one of the other topics, for one member.

    Such notices already come by mail or show in My Page, so no mail stands in
    when no device is reached.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown push topic: {topic!r}")
    return {
        "member_id": member_id,
        "topic": topic,
        "notice_key": key,
        "push_topic": re.sub(r"[^A-Za-z0-9_-]", "-", key)[:32],
        "urgency": "normal",
        "title": title,
        "body": body,
        "url": url,
        "tag": key[:64],
        "mail_fallback": False,
    }


async def queue_member_notice(
    member_id: int, topic: str, key: str, title: str, body: str, url: str, now: datetime
) -> None:
    """Queue a notice on one of the other topics (e.g. change_requests) for one member."""
    payload = member_notice(member_id, topic, key, title, body, url)
    await enqueue(PUSH_CHANNEL, payload, now, dedupe_key=f"{PUSH_CHANNEL}:{member_id}:{key}")


async def queue_member_notices(
    member_ids: list[int], topic: str, key: str, title: str, body: str, url: str, now: datetime
) -> int:
    """The same notice for many members at once (bulk, like statement notices).

    Call it inside the transaction of the change it reports; the dedupe key
    makes a second call queue nothing new. Returns how many were queued.
    """
    payload = member_notice(0, topic, key, title, body, url)  # member_id set per member
    return await enqueue_per_member(
        PUSH_CHANNEL,
        payload,
        list(dict.fromkeys(member_ids)),
        now,
        key_prefix="push:",
        key_suffix=f":{key}",
    )


async def opted_in_members(topic: str) -> list[int]:
    """Members who turned an opt-in topic on (off by default) and have a device for it."""
    if topic not in TOPICS or getattr(default_preference(0), topic):
        raise ValueError(f"not an opt-in push topic: {topic!r}")
    rows = (
        await PushSubscription.filter(**{f"member__push_preference__{topic}": True})
        .distinct()
        .order_by("member_id")
        .values_list("member_id", flat=True)
    )
    return [int(cast(int, member_id)) for member_id in rows]


def push_body(payload: dict[str, Any]) -> bytes:
    """What the service worker receives: JSON under 3 KB (the body is cut if need be)."""
    message = {key: payload[key] for key in ("title", "body", "url", "tag")}
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    while len(data) > MAX_PAYLOAD_BYTES and message["body"]:
        message["body"] = message["body"][: len(message["body"]) // 2] + "…"
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return data


async def queue_statement_notices(member_months: list[tuple[int, str]], now: datetime) -> int:
    """Queue one push notice per (member, month) an import created or changed.

    Call it inside the import's transaction. The dedupe key makes a re-import
    of the same month queue nothing new; per-device records make sure no
    device gets the same month twice. Returns how many notices were queued.
    """
    by_month: dict[str, list[int]] = {}
    for member_id, month in dict.fromkeys(member_months):
        by_month.setdefault(month, []).append(member_id)
    queued = 0
    for month, member_ids in by_month.items():
        payload = statement_notice(0, month)
        queued += await enqueue_per_member(
            PUSH_CHANNEL,
            payload,
            member_ids,
            now,
            key_prefix=f"{PUSH_CHANNEL}:",
            key_suffix=f":{payload['notice_key']}",
        )
    return queued
