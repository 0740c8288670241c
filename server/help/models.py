"""The table of downloadable forms (Tortoise app "requests")."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


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
