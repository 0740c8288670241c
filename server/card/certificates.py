"""Card certificates: issue, renew (signed by the device), verify, revoke (issue 16)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.audit.service import Actor, record
from server.card.cose import (
    STEP_SECONDS,
    Malformed,
    decode_sign1,
    parse_qr_text,
    public_key_from_point,
    renew_message,
    sign1,
    step_message,
    verify_raw,
)
from server.card.events import CardEvent
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
MAX_STEP_DRIFT = 3  # steps of 30 s: a code is good for 90 s either side
EARLY_TOLERANCE = timedelta(minutes=5)
LAST_SECOND = time(23, 59, 59)

MESSAGES = {
    None: "有効な組合員証です。",
    "malformed": "読み取れません。QRコードをもう一度読み取ってください。",
    "unknown_key": "署名が正しくありません。生協が発行した組合員証ではありません。",
    "bad_signature": "署名が正しくありません。内容が書き換えられているか、別の端末の写しです。",
    "expired": "期限切れです。この組合員証の有効期限は過ぎています。",
    "out_of_time": (
        "時間外です。画面の写し（スクリーンショット）か、端末の時刻のずれが考えられます。"
    ),
    "revoked": "失効しています。この組合員証はご利用いただけません。",
}


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
        """The JSON answer of issue and renewal (CARD-SPEC.md)."""
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
    """Why this member may no longer hold a card (B7), or None."""
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


@dataclass(frozen=True)
class Verdict:
    """The answer for one presented QR code."""

    reason: str | None
    fields: dict[str, str] | None = None
    expires_at: datetime | None = None

    @property
    def valid(self) -> bool:
        """True when every check passed."""
        return self.reason is None

    def as_json(self) -> dict[str, Any]:
        """The body of POST /api/card/verify (CARD-SPEC.md)."""
        fields = self.fields or {}
        return {
            "valid": self.valid,
            "reason": self.reason,
            "member_no": fields.get("member_no"),
            "name": fields.get("name"),
            "name_kana": fields.get("name_kana"),
            "category": fields.get("category"),
            "valid_until": (
                to_jst(self.expires_at).date().isoformat() if self.expires_at else None
            ),
            "message": MESSAGES[self.reason],
        }


def _payload_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The signed payload's fields, checked for type (Malformed otherwise)."""
    texts = {"id": "id", "no": "member_no", "n": "name", "k": "name_kana", "c": "category"}
    if payload.get("v") != 1:
        raise Malformed("version")
    out: dict[str, Any] = {}
    for key, name in texts.items():
        if not isinstance(payload.get(key), str):
            raise Malformed(key)
        out[name] = payload[key]
    for key in ("iat", "exp"):
        if type(payload.get(key)) is not int:
            raise Malformed(key)
    if not isinstance(payload.get("pk"), bytes):
        raise Malformed("pk")
    return out


async def verify_code(code: str, now: datetime, keys: KeyRing) -> Verdict:
    """Every check of CARD-SPEC.md in its order; the first failure is the verdict."""
    try:
        presented = parse_qr_text(code)
        message = decode_sign1(presented.certificate)
        fields = _payload_fields(message.payload)
        device_key = public_key_from_point(message.payload["pk"])
    except Malformed:
        return Verdict("malformed")
    coop_key = keys.public_keys.get(message.kid)
    if coop_key is None:
        return Verdict("unknown_key")
    if not message.verified_by(coop_key):
        return Verdict("bad_signature")
    cert_id = fields.pop("id")
    expires_at = datetime.fromtimestamp(message.payload["exp"], UTC)
    signed = Verdict(None, fields, expires_at)
    step_signed = step_message(presented.certificate, presented.step)
    if not verify_raw(device_key, presented.signature, step_signed):
        return dataclasses.replace(signed, reason="bad_signature")
    issued_at = datetime.fromtimestamp(message.payload["iat"], UTC)
    if now > expires_at or now < issued_at - EARLY_TOLERANCE:
        return dataclasses.replace(signed, reason="expired")
    if abs(presented.step - current_step(now)) > MAX_STEP_DRIFT:
        return dataclasses.replace(signed, reason="out_of_time")
    if await _revoked(cert_id, now):
        return dataclasses.replace(signed, reason="revoked")
    return signed


def current_step(now: datetime) -> int:
    """The 30-second time step a device signs now."""
    return int(now.timestamp()) // STEP_SECONDS


def _ended_access(today: Any) -> Q:
    """Certificates whose member's access has ended (B7), even before anyone revoked them."""
    return Q(member__status=MemberStatus.WITHDRAWN) | Q(
        member__status=MemberStatus.WITHDRAWING, member__capital_refund_on__lt=today
    )


async def _revoked(cert_id: str, now: datetime) -> bool:
    today = to_jst(now).date()
    return await CardCertificate.filter(
        Q(id=cert_id), Q(revoked_at__isnull=False) | _ended_access(today)
    ).exists()


async def revoked_ids(now: datetime) -> list[str]:
    """Ids of certificates revoked (or whose member's access ended) and not yet expired."""
    today = to_jst(now).date()
    rows = await CardCertificate.filter(
        Q(expires_at__gt=now), Q(revoked_at__isnull=False) | _ended_access(today)
    ).values_list("id", flat=True)
    return sorted(str(row) for row in rows)


async def revoke_certificates_of(
    member_ids: Iterable[int],
    now: datetime,
    reason: str,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """Revoke every live certificate of these members; how many were revoked."""
    ids = list(member_ids)
    if not ids:
        return 0
    return await (
        CardCertificate.filter(member_id__in=ids, revoked_at__isnull=True, expires_at__gt=now)
        .using_db(using_db)
        .update(revoked_at=now, revoked_reason=reason[:40])
    )


async def revoke_member_certificates(member_id: int, now: datetime, reason: str) -> int:
    """Revoke one member's certificates (withdrawal, service stop, re-registration, staff)."""
    return await revoke_certificates_of([member_id], now, reason)
