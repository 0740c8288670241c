"""Co-op notices shown on members' home pages."""

from __future__ import annotations

from tortoise import fields, models


class CoopNotice(models.Model):
    """A notice from the co-op to every member, shown on the home page between two dates."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    body = fields.TextField()
    starts_on = fields.DateField(db_index=True)
    ends_on = fields.DateField(null=True)
    created_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "staff.StaffUser", related_name="notices", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)
    pushed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coop_notice"
