"""Card certificates: issue, and renew with the device's signature."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from server.audit.events import CardEvent
from server.audit.service import Actor, record
from server.card.cose import (
    Malformed,
    public_key_from_point,
    renew_message,
    sign1,
    verify_raw,
)
from server.card.keys import KeyRing
from server.card.models import CardCertificate, IssuedBy
from server.card.service import fiscal_year
from server.errors import DomainError
from server.lib.clock import JST, to_jst
from server.members.access import access_ended_reason
from server.members.models import Member, MemberStatus
from server.push.vapid import b64url, b64url_decode

CERTIFICATE_DAYS = 30
RENEW_CLOCK_WINDOW = timedelta(minutes=10)


LAST_SECOND = time(23, 59, 59)


class CardError(DomainError):
    """A card request that cannot be met; `reason` is the code the page script acts on."""

    reason = "bad_request"

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None):
        super().__init__(message, status=status)
        if reason is not None:
            self.reason = reason


class CardRefused(CardError):
    """No certificate for this device any more; the page drops its card and shows why."""

    status = 403


@dataclass(frozen=True)
class Issued:
    """A certificate just signed, with what the page keeps beside it."""

    certificate: bytes
    id: str
    expires_at: datetime
    member: Member

    def body(self, now: datetime) -> dict[str, Any]:
        """The JSON answer of issue and renewal, as pwa/js/card.js reads it."""
        return {
            "certificate": b64url(self.certificate),
            "id": self.id,
            "valid_until": to_jst(self.expires_at).date().isoformat(),
            "expires_at": int(self.expires_at.timestamp()),
            "server_now_ms": int(now.timestamp() * 1000),
            **member_fields(self.member),
        }


def member_fields(member: Member) -> dict[str, str]:
    """What the card shows of a member, as the certificate signs it."""
    return {
        "member_no": member.member_no,
        "name": member.name,
        "name_kana": member.name_kana,
        "category": str(member.category.value),
    }


def valid_until(member: Member, now: datetime) -> datetime:
    """30 days ahead, never past the fiscal year's end nor a withdrawing member's refund day."""
    ends = [
        now + timedelta(days=CERTIFICATE_DAYS),
        datetime.combine(fiscal_year(now).last_day, LAST_SECOND, JST),
    ]
    if member.status == MemberStatus.WITHDRAWING and member.capital_refund_on is not None:
        ends.append(datetime.combine(member.capital_refund_on, LAST_SECOND, JST))
    return min(ends).astimezone(UTC).replace(microsecond=0)


def ended_reason(member: Member, now: datetime) -> str | None:
    """Why this member may no longer hold a card (withdrawn, or the capital refunded), or None."""
    return access_ended_reason(member.status, member.capital_refund_on, to_jst(now).date())


def device_key_from_text(text: object) -> bytes:
    """The 65-byte device public key sent as base64url (CardError 400 otherwise)."""
    try:
        if not isinstance(text, str) or len(text) > 200:
            raise ValueError("not text")
        point = b64url_decode(text)
        public_key_from_point(point)
    except (ValueError, Malformed) as error:
        raise CardError(
            "端末の鍵を読み取れませんでした。ページを読み込み直してから、もう一度お試しください。"
        ) from error
    return point


async def issue_certificate(
    member: Member,
    device_point: bytes,
    now: datetime,
    keys: KeyRing,
    actor: Actor,
    *,
    issued_by: IssuedBy = IssuedBy.SESSION,
) -> Issued:
    """Sign a card certificate for this member's device key and record it (one commit)."""
    reason = ended_reason(member, now)
    if reason:
        raise CardRefused(reason, reason="access_ended")
    issued_at = now.replace(microsecond=0)
    expires_at = valid_until(member, now)
    cert_id = secrets.token_hex(8)
    certificate = sign1(
        keys.signing_key,
        keys.kid,
        {
            "v": 1,
            "id": cert_id,
            "no": member.member_no,
            "n": member.name,
            "k": member.name_kana,
            "c": str(member.category.value),
            "pk": device_point,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
        },
    )
    event = CardEvent.ISSUE if issued_by == IssuedBy.SESSION else CardEvent.RENEW
    # The row and its audit event in one transaction: one commit (SQLite: one fsync).
    async with in_transaction():
        await CardCertificate.create(
            id=cert_id,
            member_id=member.id,
            device_public_key=b64url(device_point),
            issued_at=issued_at,
            expires_at=expires_at,
            issued_by=issued_by,
        )
        await record(
            event, dataclasses.replace(actor, member_id=member.id), now, id=cert_id, kid=keys.kid
        )
    return Issued(certificate, cert_id, expires_at, member)


def _unknown_device() -> CardRefused:
    return CardRefused(
        "この端末の組合員証を確認できませんでした。お手数ですが、もう一度ログインしてください。",
        reason="unknown_device",
    )


async def renew_certificate(
    cert_id: object, ts_ms: object, signature: object, now: datetime, keys: KeyRing, actor: Actor
) -> Issued:
    """A new certificate for the device that holds `cert_id`, asked for with its own signature."""
    if not isinstance(cert_id, str) or len(cert_id) != 16 or type(ts_ms) is not int:
        raise CardError("送信内容を読み取れませんでした。")
    try:
        raw_signature = b64url_decode(signature) if isinstance(signature, str) else b""
    except ValueError:
        raw_signature = b""
    row = await CardCertificate.get_or_none(id=cert_id.lower()).select_related("member")
    if row is None:
        raise _unknown_device()
    device_key = public_key_from_point(b64url_decode(row.device_public_key))
    if not verify_raw(device_key, raw_signature, renew_message(row.id, ts_ms)):
        raise _unknown_device()
    if abs(ts_ms - now.timestamp() * 1000) > RENEW_CLOCK_WINDOW.total_seconds() * 1000:
        raise CardError(
            "端末の時刻が大きくずれているため、組合員証を更新できませんでした。"
            "端末の日付と時刻を確認してください。",
            reason="clock",
        )
    member: Member = row.member
    about = dataclasses.replace(actor, member_id=member.id)
    try:
        await _check_renewable(row, member, now)
    except CardRefused as refused:
        await record(CardEvent.RENEW_REFUSED, about, now, id=row.id, reason=refused.reason)
        raise
    async with in_transaction() as conn:
        issued = await issue_certificate(
            member,
            device_key_from_text(row.device_public_key),
            now,
            keys,
            actor,
            issued_by=IssuedBy.RENEWAL,
        )
        # Only one renewal of a certificate wins; a second one at the same moment is refused.
        newest = row.superseded_by or row.id
        moved = (
            await CardCertificate.filter(id=newest, superseded_by__isnull=True)
            .using_db(conn)
            .update(superseded_by=issued.id, replaced_at=now)
        )
        if moved == 0:
            raise _unknown_device()
    return issued


async def _check_renewable(row: CardCertificate, member: Member, now: datetime) -> None:
    """Refuse renewal when access ended, the certificate was revoked, or it is out of date.

    A certificate replaced once may still renew (the page may have lost the
    answer of its last renewal); one whose replacement was itself replaced
    may not: only the newest of a device's certificates renews.
    """
    reason = ended_reason(member, now)
    if reason:
        raise CardRefused(reason, reason="access_ended")
    revoked = CardRefused(
        "この組合員証は失効しています。お手数ですが、もう一度ログインしてください。",
        reason="revoked",
    )
    if row.revoked_at is not None or row.expires_at < now:
        raise revoked
    if row.superseded_by:
        newer = await CardCertificate.get_or_none(id=row.superseded_by)
        if newer is None or newer.superseded_by or newer.revoked_at is not None:
            raise revoked
