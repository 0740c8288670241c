"""Tables of member requests: profile changes, sign-in address changes, stops, re-authentication."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class ChangeGroup(StrEnum):
    """Fields that are changed together; one open request per group."""

    NAME = "name"
    ADDRESS = "address"
    PHONE = "phone"


class ChangeState(StrEnum):
    """Where a profile change request is."""

    RECEIVED = "received"
    PROCESSING = "processing"
    APPLIED = "applied"
    RETURNED = "returned"
    REPLACED = "replaced"


class ChangeRequest(models.Model):
    """A member's request to change registered data, with the values beside the old ones."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="change_requests", on_delete=fields.CASCADE
    )
    group = fields.CharEnumField(ChangeGroup, max_length=10)
    state = fields.CharEnumField(ChangeState, max_length=12, db_index=True)
    current_values: dict = fields.JSONField(default=dict)
    new_values: dict = fields.JSONField(default=dict)
    submitted_at = fields.DatetimeField()
    expected_on = fields.DateField()
    updated_at = fields.DatetimeField()
    staff_comment = fields.TextField(db_default="")
    note = fields.CharField(max_length=300, db_default="")
    staff_id = fields.IntField(null=True)

    class Meta:
        table = "change_request"
        # A member's own requests by last change (home's 新着 read them until it had
        # rows of its own, pages 0002; kept for the member's and the office's lists).
        indexes = (("member_id", "updated_at"),)


class EmailChange(models.Model):
    """A new sign-in address waiting for the six-digit code mailed to it."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Account", related_name="email_changes", on_delete=fields.CASCADE
    )
    new_email = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=64)
    attempts = fields.IntField(db_default=0)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_change"


class Reauthentication(models.Model):
    """A recent proof of identity in one session, for changes that need it."""

    id = fields.IntField(primary_key=True)
    session: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Session", related_name="reauthentications", on_delete=fields.CASCADE
    )
    method = fields.CharField(max_length=20)
    at = fields.DatetimeField()

    class Meta:
        table = "reauthentication"


class ServiceStop(models.Model):
    """A member who stopped My Page and now gets paper statements (for a fee)."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="service_stops", on_delete=fields.CASCADE
    )
    account_id = fields.IntField(null=True)
    email = fields.CharField(max_length=254, db_default="")
    stopped_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "service_stop"
