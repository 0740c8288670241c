"""A member's My Page account and their server-side sessions."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class AccountState(StrEnum):
    """Whether the member may use My Page."""

    ACTIVE = "active"
    STOPPED = "stopped"


class Account(models.Model):
    """Sign-in identity of one member (their My Page registration)."""

    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation = fields.OneToOneField(
        "core.Member", related_name="account", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    state = fields.CharEnumField(AccountState, max_length=10, db_default="active")
    registered_at = fields.DatetimeField()
    failed_count = fields.IntField(db_default=0)
    block_count = fields.IntField(db_default=0)
    blocked_until = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "account"


class Session(models.Model):
    """A signed-in browser, whose cookie token is stored here only as a hash."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "core.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    auth_method = fields.CharField(max_length=20, db_default="password")
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ip = fields.CharField(max_length=45, db_default="")
    user_agent = fields.CharField(max_length=300, db_default="")

    class Meta:
        table = "session"
