"""Registration state, initial passwords, mailed codes, reset tokens, remembered and known browsers.

Every secret here is stored only as a hash: initial passwords with argon2,
random tokens with SHA-256 and the short codes with an HMAC keyed by the
secret key (a plain hash of six digits could be reversed by trying them all).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class CodePurpose(StrEnum):
    """Why an authentication code (認証コード) was mailed."""

    REGISTER = "register"
    LOGIN = "login"


class InitialPassword(models.Model):
    """An initial password issued by the co-op for one member, only its hash kept."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="initial_passwords", on_delete=fields.CASCADE
    )
    password_hash = fields.CharField(max_length=200)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    # The clerk who issued it (on the phone, from the member page); None for
    # the command-line batch. Kept if the clerk's account is removed later.
    issued_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "staff.StaffUser",
        related_name="issued_initial_passwords",
        on_delete=fields.SET_NULL,
        null=True,
    )

    class Meta:
        table = "initial_password"


class Registration(models.Model):
    """A registration in progress in one browser, after the member proved who they are."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="registrations", on_delete=fields.CASCADE
    )
    initial_password: fields.ForeignKeyRelation[InitialPassword] = fields.ForeignKeyField(
        "account.InitialPassword", related_name="registrations", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254, null=True)
    email_verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "registration"


class AuthCode(models.Model):
    """A six-digit code mailed to a member, tied to the browser flow that asked for it."""

    id = fields.IntField(primary_key=True)
    purpose = fields.CharEnumField(CodePurpose, max_length=10)
    flow_hash = fields.CharField(max_length=64, db_index=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="auth_codes", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "core.Account", related_name="auth_codes", on_delete=fields.CASCADE, null=True
    )
    email = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=64)
    attempts = fields.IntField(db_default=0)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "auth_code"


class PasswordReset(models.Model):
    """A password reset link, usable once within its lifetime."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Account", related_name="password_resets", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset"


class RememberedBrowser(models.Model):
    """A browser that passed the sign-in code and may skip it until it expires or is revoked."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Account", related_name="remembered_browsers", on_delete=fields.CASCADE
    )
    user_agent = fields.CharField(max_length=300, db_default="")
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "remembered_browser"


class KnownDevice(models.Model):
    """A browser this account has signed in from, known by its long-lived device cookie.

    Only the cookie token's SHA-256 is kept. One browser keeps one token, so a
    family PC is known to each account that signs in on it.
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Account", related_name="known_devices", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, db_index=True)
    user_agent = fields.CharField(max_length=300, db_default="")
    first_seen_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()

    class Meta:
        table = "known_device"
        unique_together = (("account", "token_hash"),)
