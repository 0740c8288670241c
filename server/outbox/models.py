"""The outbox: every mail (and later push notice) waits here until delivered."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class OutboxStatus(StrEnum):
    """Where a message is in its delivery."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Its content (a code, a link) died before it could be delivered: never sent late.
    EXPIRED = "expired"


class OutboxMessage(models.Model):
    """One message to deliver on a channel, written in the transaction of the change it reports."""

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=20)
    payload: dict = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=10, db_default="pending")
    attempts = fields.IntField(db_default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, db_default="")
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    # After this the message is worthless (a sign-in code, a reset link) and is not sent.
    expires_at = fields.DatetimeField(null=True)
    # What the message is about, so a page can ask after its mail (e.g. "code:<flow hash>").
    ref = fields.CharField(max_length=100, null=True, db_index=True)

    class Meta:
        table = "outbox_message"
