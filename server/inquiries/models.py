"""Tables of inquiries, staff replies and staff notes (Tortoise app "requests")."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class InquiryCategory(StrEnum):
    """What an inquiry is about (the values are the codes used in URLs)."""

    WORKPLACE = "workplace"
    BILLING = "billing"
    PROFILE = "profile"
    CAPITAL = "capital"
    USAGE = "usage"
    OTHER = "other"


class InquiryState(StrEnum):
    """Whether staff have answered."""

    RECEIVED = "received"
    ANSWERED = "answered"


class Inquiry(models.Model):
    """A message from a member to the co-op, with its receipt number."""

    id = fields.IntField(primary_key=True)
    receipt_no = fields.CharField(max_length=20, unique=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="inquiries", on_delete=fields.CASCADE
    )
    category = fields.CharEnumField(InquiryCategory, max_length=12)
    message = fields.TextField()
    state = fields.CharEnumField(InquiryState, max_length=10, db_default="received")
    reply_to = fields.CharField(max_length=254, db_default="")
    created_at = fields.DatetimeField(db_index=True)
    answered_at = fields.DatetimeField(null=True)
    assigned_staff_id = fields.IntField(null=True, db_index=True)

    class Meta:
        table = "inquiry"
        # A member's own inquiries by answer time (home's 新着 read them until it had
        # rows of its own, pages 0002).
        indexes = (("member_id", "answered_at"),)


class InquiryReply(models.Model):
    """A staff reply to an inquiry, shown in the member's history and mailed to them."""

    id = fields.IntField(primary_key=True)
    inquiry: fields.ForeignKeyRelation[Inquiry] = fields.ForeignKeyField(
        "requests.Inquiry", related_name="replies", on_delete=fields.CASCADE
    )
    body = fields.TextField()
    staff_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "inquiry_reply"


class InquiryNote(models.Model):
    """A staff member's internal note on an inquiry, never shown or mailed to the member."""

    id = fields.IntField(primary_key=True)
    inquiry: fields.ForeignKeyRelation[Inquiry] = fields.ForeignKeyField(
        "requests.Inquiry", related_name="notes", on_delete=fields.CASCADE
    )
    staff_id = fields.IntField()
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "inquiry_note"
