"""The co-op member as the core system knows them (the members CSV's columns, see README)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class Category(StrEnum):
    """現職 (serving) or 退職 (retired) teacher."""

    SERVING = "現職"
    RETIRED = "退職"


class MemberStatus(StrEnum):
    """Membership state in the core system."""

    ACTIVE = "active"
    WITHDRAWING = "withdrawing"
    WITHDRAWN = "withdrawn"


class Member(models.Model):
    """One co-op member, as the core system (the source of truth) knows them."""

    id = fields.IntField(primary_key=True)
    member_no = fields.CharField(max_length=8, unique=True)
    name = fields.CharField(max_length=100)
    name_kana = fields.CharField(max_length=100)
    birth_date = fields.DateField()
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=20, db_default="")
    postal_code = fields.CharField(max_length=8, db_default="")
    address = fields.CharField(max_length=300, db_default="")
    workplace = fields.CharField(max_length=200, db_default="")
    category = fields.CharEnumField(Category, max_length=4)
    joined_on = fields.DateField()
    status = fields.CharEnumField(MemberStatus, max_length=12, db_default="active")
    capital_refund_on = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "member"

    def __str__(self) -> str:
        return f"{self.member_no} {self.name}"
