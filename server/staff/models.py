"""Staff accounts, their passkeys, sessions and one-time passkey set-up links."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class StaffRole(StrEnum):
    """What a staff member may do: day-to-day work, or also staff accounts and settings."""

    OPERATOR = "operator"
    ADMIN = "admin"


class StaffUser(models.Model):
    """One member of the co-op's office staff (never a member account)."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=60)
    role = fields.CharEnumField(StaffRole, max_length=10)
    active = fields.BooleanField(db_default=True)
    user_handle = fields.CharField(max_length=100, unique=True)
    created_at = fields.DatetimeField()
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_user"


class StaffPasskey(models.Model):
    """A passkey of a staff member, the only way staff sign in."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "staff.StaffUser", related_name="passkeys", on_delete=fields.CASCADE
    )
    credential_id = fields.CharField(max_length=1400, unique=True)
    public_key = fields.BinaryField()
    sign_count = fields.BigIntField(db_default=0)
    name = fields.CharField(max_length=60)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_passkey"


class StaffSession(models.Model):
    """A signed-in staff browser, whose cookie token is stored only as a hash."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "staff.StaffUser", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ip = fields.CharField(max_length=45, db_default="")
    user_agent = fields.CharField(max_length=300, db_default="")

    class Meta:
        table = "staff_session"


class StaffSetupLink(models.Model):
    """A mailed one-time link for registering the first passkey of a staff member."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "staff.StaffUser", related_name="setup_links", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_setup_link"
