"""Passkey credentials, WebAuthn user handles and one-use challenges."""

from __future__ import annotations

from tortoise import fields, models


class PasskeyUser(models.Model):
    """The random WebAuthn user handle of one account, the same for all its passkeys."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation = fields.OneToOneField(
        "core.Account", related_name="passkey_user", on_delete=fields.CASCADE
    )
    user_handle = fields.CharField(max_length=100, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "passkey_user"


class Passkey(models.Model):
    """One registered passkey (a WebAuthn public key credential) of an account."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Account", related_name="passkeys", on_delete=fields.CASCADE
    )
    credential_id = fields.CharField(max_length=1400, unique=True)
    public_key = fields.BinaryField()
    sign_count = fields.BigIntField(db_default=0)
    aaguid = fields.CharField(max_length=36, db_default="")
    name = fields.CharField(max_length=60)
    transports: list = fields.JSONField(default=list)
    backup_eligible = fields.BooleanField(db_default=False)
    backed_up = fields.BooleanField(db_default=False)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "passkey"


class WebAuthnChallenge(models.Model):
    """A challenge handed to a browser, valid five minutes and usable exactly once."""

    id = fields.IntField(primary_key=True)
    challenge = fields.CharField(max_length=100, unique=True)
    ceremony = fields.CharField(max_length=20)
    account_id = fields.IntField(null=True)
    binding_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)
    consumed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webauthn_challenge"
