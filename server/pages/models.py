"""Home's news: one row per member and item, written when the item happens."""

from __future__ import annotations

from tortoise import fields, models


class HomeNews(models.Model):
    """Something new for the member on home's 「新着」, and when they opened it.

    kind is statement, inquiry or change, and ref the month (2026-11) or the row
    id. The row is written in the transaction of the event (an answer, a change
    applied or returned, a statements import) and again by a later event on the
    same item, which clears seen_at so the item shows again. Opening the item's
    page sets seen_at.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="home_news", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=12)
    ref = fields.CharField(max_length=20)
    text = fields.CharField(max_length=100)
    detail = fields.CharField(max_length=100, default="")
    href = fields.CharField(max_length=100)
    at = fields.DatetimeField()
    seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "home_news"
        # Also home's one query (a member's unseen rows since a time): its
        # member_id prefix finds the member's few rows.
        unique_together = (("member", "kind", "ref"),)
