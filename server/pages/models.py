"""What a member has seen of home's news: one row per item opened."""

from __future__ import annotations

from tortoise import fields, models


class HomeSeen(models.Model):
    """The member opened this statement, inquiry or change request page at seen_at.

    kind is statement, inquiry or change, and ref the month (2026-11) or the row id.
    A newer event on the same item (a second reply) shows it again.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="home_seen", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=12)
    ref = fields.CharField(max_length=20)
    seen_at = fields.DatetimeField()

    class Meta:
        table = "home_seen"
        unique_together = (("member", "kind", "ref"),)
