"""Facts the portal recorded about a member that a core-system file has not yet confirmed."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class OverrideSource(StrEnum):
    """Where the portal's value came from."""

    CHANGE_REQUEST = "change_request"
    WITHDRAWAL = "withdrawal"


class Settlement(StrEnum):
    """How an override ended: a file agreed, the operator took the file, or a newer one came."""

    CONFIRMED = "confirmed"
    OVERWRITTEN = "overwritten"
    SUPERSEDED = "superseded"


class MemberFieldOverride(models.Model):
    """One member field set in the console, kept against older files until a file settles it."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="field_overrides", on_delete=fields.CASCADE
    )
    member_id: int
    field = fields.CharField(max_length=30)
    # Text forms (dates as YYYY-MM-DD, no value as ""), compared with a file's cells.
    value = fields.CharField(max_length=300)
    previous = fields.CharField(max_length=300, db_default="")
    source = fields.CharEnumField(OverrideSource, max_length=20)
    change_request_id = fields.IntField(null=True, db_index=True)
    recorded_by = fields.IntField(null=True)
    recorded_at = fields.DatetimeField()
    # Open overrides are the few with no settled_at: imports read only those.
    settled_at = fields.DatetimeField(null=True, db_index=True)
    settled_how = fields.CharEnumField(Settlement, max_length=12, null=True)
    settled_by_file = fields.CharField(max_length=255, null=True)
    settled_sha256 = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "member_field_override"
