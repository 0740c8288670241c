"""Statement lines as the core system bills them."""

from __future__ import annotations

from tortoise import fields, models


class StatementLine(models.Model):
    """One line of a monthly statement, keyed by member, billing month and line number."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="statement_lines", on_delete=fields.CASCADE
    )
    billing_month = fields.CharField(max_length=7)
    billed_on = fields.DateField()
    line_no = fields.IntField()
    used_on = fields.DateField()
    description = fields.CharField(max_length=200)
    quantity = fields.IntField(db_default=1)
    amount_yen = fields.IntField()

    class Meta:
        table = "statement_line"
        unique_together = (("member", "billing_month", "line_no"),)
