"""Tables of member requests, inquiries, help documents and re-authentication."""

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


class DocumentKind(StrEnum):
    """Forms members can download."""

    JOIN = "join"
    LEAVE = "leave"


class Document(models.Model):
    """A PDF form uploaded by staff, its file kept under the data directory."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(DocumentKind, max_length=10, db_index=True)
    title = fields.CharField(max_length=100)
    filename = fields.CharField(max_length=100)
    stored_name = fields.CharField(max_length=100, unique=True)
    size = fields.IntField()
    uploaded_at = fields.DatetimeField()
    staff_id = fields.IntField(null=True)
    active = fields.BooleanField(db_default=True)

    class Meta:
        table = "document"


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
