"""Audit events, append-only."""

from __future__ import annotations

from tortoise import fields, models


class AuditEvent(models.Model):
    """One recorded event, whose data never holds secrets such as passwords or codes."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    event = fields.CharField(max_length=60, db_index=True)
    actor = fields.CharField(max_length=20)
    member_id = fields.IntField(null=True, db_index=True)
    account_id = fields.IntField(null=True)
    staff_id = fields.IntField(null=True, db_index=True)
    ip = fields.CharField(max_length=45, db_default="")
    user_agent = fields.CharField(max_length=300, db_default="")
    data: dict = fields.JSONField(default=dict)

    class Meta:
        table = "audit_event"
