"""Checking a presented QR code: every check, in the order pwa/js/verify.js keeps too."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from server.card.cose import (
    STEP_SECONDS,
    Malformed,
    decode_sign1,
    parse_qr_text,
    public_key_from_point,
    step_message,
    verify_raw,
)
from server.card.keys import KeyRing
from server.card.revocation import is_revoked
from server.lib.clock import to_jst

MAX_STEP_DRIFT = 3  # steps of 30 s: a code is good for 90 s either side
EARLY_TOLERANCE = timedelta(minutes=5)

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
        """The body of POST /api/card/verify, a public API that shops' systems read."""
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
    """Every check in its fixed order; the first failure is the verdict."""
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
    if await is_revoked(cert_id, now):
        return dataclasses.replace(signed, reason="revoked")
    return signed


def current_step(now: datetime) -> int:
    """The 30-second time step a device signs now."""
    return int(now.timestamp()) // STEP_SECONDS
