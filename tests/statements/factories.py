"""Factories for statement lines and capital records."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.capital.models import CapitalRecord
from server.members.models import Member
from server.pages.news import announce_statements, month_totals
from server.statements.models import StatementLine


async def make_statement(
    member: Member, month: str, amounts: list[int], *, descriptions: list[str] | None = None
) -> list[StatementLine]:
    """One month of lines with these amounts (billed on the 15th)."""
    year, number = int(month[:4]), int(month[5:7])
    lines = []
    for i, amount in enumerate(amounts, 1):
        lines.append(
            await StatementLine.create(
                member=member,
                billing_month=month,
                billed_on=date(year, number, 15),
                line_no=i,
                used_on=date(year, number, min(i, 28)),
                description=descriptions[i - 1] if descriptions else f"文具 {i}",
                quantity=1,
                amount_yen=amount,
            )
        )
    # As every way statements arrive: home's 新着 learns of the month.
    await announce_statements(month_totals(lines))
    return lines


async def make_capital(member: Member, fiscal_year: int, **fields: Any) -> CapitalRecord:
    """Capital figures of one fiscal year, published in the following July."""
    values: dict[str, Any] = {
        "published_on": date(fiscal_year + 1, 7, 15),
        "units": 50,
        "balance_yen": 50_000,
    }
    values.update(fields)
    return await CapitalRecord.create(member=member, fiscal_year=fiscal_year, **values)
