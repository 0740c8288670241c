"""Reading statements, always for one member and only the months they may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.functions import Count, Max, Sum

from server.errors import NotFound
from server.lib.dates import as_date, parse_month
from server.members.access import Viewer, first_statement_month
from server.statements.models import StatementLine

NO_SUCH_STATEMENT = "ご指定の月のご請求明細は見つかりませんでした。"


@dataclass(frozen=True)
class MonthSummary:
    """One month in the list: when it was billed, how many lines, the total."""

    month: str
    billed_on: date
    lines: int
    total: int

    @property
    def label(self) -> str:
        """2026年11月."""
        return month_label(self.month)


@dataclass(frozen=True)
class Statement:
    """One month's statement with its lines."""

    month: str
    billed_on: date
    lines: list[StatementLine]

    @property
    def total(self) -> int:
        """The amount billed for the month (refunds are negative lines)."""
        return sum(line.amount_yen for line in self.lines)

    @property
    def label(self) -> str:
        """2026年11月."""
        return month_label(self.month)


def month_label(month: str) -> str:
    """2026-11 -> 2026年11月."""
    return f"{int(month[:4])}年{int(month[5:7])}月"


async def visible_months(viewer: Viewer) -> list[MonthSummary]:
    """The member's visible months, newest first, each with its total."""
    rows = (
        await StatementLine.filter(
            member_id=viewer.member_id, billing_month__gte=first_statement_month(viewer)
        )
        .annotate(total=Sum("amount_yen"), billed=Max("billed_on"), count=Count("id"))
        .group_by("billing_month")
        .order_by("-billing_month")
        .values("billing_month", "total", "billed", "count")
    )
    return [
        MonthSummary(
            month=row["billing_month"],
            billed_on=as_date(row["billed"]),  # an aggregate: SQLite gives text
            lines=int(row["count"]),
            total=int(row["total"] or 0),
        )
        for row in rows
    ]


async def statement(viewer: Viewer, month: str) -> Statement:
    """One visible month of the member's own statements, or NotFound (never another's)."""
    if parse_month(month) is None or month < first_statement_month(viewer):
        raise NotFound(NO_SUCH_STATEMENT)
    lines = await StatementLine.filter(member_id=viewer.member_id, billing_month=month).order_by(
        "line_no"
    )
    if not lines:
        raise NotFound(NO_SUCH_STATEMENT)
    return Statement(month=month, billed_on=lines[0].billed_on, lines=lines)


async def all_visible_lines(viewer: Viewer) -> list[StatementLine]:
    """Every visible line of the member, newest month first (for the CSV download)."""
    return (
        await StatementLine.filter(
            member_id=viewer.member_id, billing_month__gte=first_statement_month(viewer)
        )
        .order_by("-billing_month", "line_no")
        .all()
    )
