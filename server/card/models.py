"""Card certificates: what the co-op signed for one device of one member."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class IssuedBy(StrEnum):
    """How a certificate came to be: a signed-in page, or the device renewing its own."""

    SESSION = "session"
    RENEWAL = "renewal"


class CardCertificate(models.Model):
    """One signed card certificate (the signed bytes live on the device, not here)."""

    id = fields.CharField(max_length=16, primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="card_certificates", on_delete=fields.CASCADE, db_index=True
    )
    # The device's P-256 public key, the uncompressed point in base64url.
    device_public_key = fields.CharField(max_length=100)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    revoked_at = fields.DatetimeField(null=True, db_index=True)
    revoked_reason = fields.CharField(max_length=40, db_default="")
    # Renewal replaces a certificate with a new one for the same device key.
    superseded_by = fields.CharField(max_length=16, null=True)
    replaced_at = fields.DatetimeField(null=True)
    issued_by = fields.CharEnumField(IssuedBy, max_length=10)

    class Meta:
        table = "card_certificate"
