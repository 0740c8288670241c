"""Capital figures as the core system publishes them once a year."""

from __future__ import annotations

from tortoise import fields, models


class CapitalRecord(models.Model):
    """Capital contribution of one member for one fiscal year, published in July."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="capital_records", on_delete=fields.CASCADE
    )
    fiscal_year = fields.IntField()
    published_on = fields.DateField()
    units = fields.IntField()
    balance_yen = fields.BigIntField()

    class Meta:
        table = "capital_record"
        unique_together = (("member", "fiscal_year"),)
