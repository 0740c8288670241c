"""Demo statements and capital figures (development and benchmarks only)."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta

from server.capital.models import CapitalRecord
from server.members.access import CAPITAL_PUBLISH_MONTH
from server.pages.news import announce_statements, month_totals
from server.statements.models import StatementLine

# (description, unit price) of what members of a school co-op buy.
STATIONERY = [
    ("ボールペン（黒・10本）", 550),
    ("ノート（A4・5冊組）", 680),
    ("赤ペン（採点用・5本）", 440),
    ("付箋（業務用）", 330),
    ("クリアファイル（20枚）", 385),
    ("学級名簿ファイル", 264),
]
BOOKS = [
    ("教育書「授業づくりの基礎」", 2420),
    ("学習指導要領解説", 1980),
    ("絵本「ぐりとぐら」", 990),
    ("月刊 教育ジャーナル", 880),
]
GROCERIES = [("産直りんご（5kg）", 3200), ("お米 コシヒカリ（5kg）", 2980), ("上州麦茶", 498)]
FIXED = [("旅行積立金", 10000), ("団体生命共済 掛金", 1500)]
LINES_PER_MEMBER = 8


def billing_day(year: int, month: int) -> date:
    """The 15th, moved to the Monday after when it falls on a weekend."""
    day = date(year, month, 15)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def recent_months(today: date, count: int) -> list[tuple[int, int]]:
    """The last `count` billing months already billed by `today`, oldest first."""
    year, month = today.year, today.month
    if billing_day(year, month) > today:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months = []
    for _ in range(count):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _month_lines(
    member_id: int, year: int, month: int, rng: random.Random, count: int | None = None
) -> list[StatementLine]:
    billed = billing_day(year, month)
    used_year, used_month = (year, month - 1) if month > 1 else (year - 1, 12)
    items: list[tuple[str, int, int]] = [(name, 1, price) for name, price in FIXED]
    if used_month in (3, 9):
        items.append(("火災共済 掛金（半年分）", 1, 3600))
    wanted = count if count is not None else rng.randrange(3, 7)
    for _ in range(wanted):
        name, price = rng.choice(STATIONERY + BOOKS + GROCERIES)
        quantity = rng.choice((1, 1, 1, 2, 3))
        items.append((name, quantity, price * quantity))
    if count is None and rng.random() < 0.15:
        name, price = rng.choice(STATIONERY + BOOKS)
        items.append((f"返品（{name}）", -1, -price))
    if count is not None:
        items = items[:count]
    return [
        StatementLine(
            member_id=member_id,
            billing_month=f"{year:04d}-{month:02d}",
            billed_on=billed,
            line_no=n,
            used_on=date(used_year, used_month, min(2 + n * 3, 28)),
            description=name,
            quantity=quantity,
            amount_yen=amount,
        )
        for n, (name, quantity, amount) in enumerate(items, 1)
    ]


async def create_member_history(member_id: int, today: date, months: int = 24) -> None:
    """Two years of statements and five years of capital figures for one member."""
    rng = random.Random(member_id * 7919)
    lines: list[StatementLine] = []
    for year, month in recent_months(today, months):
        lines += _month_lines(member_id, year, month, rng)
    await StatementLine.bulk_create(lines)
    await announce_statements(month_totals(lines))
    latest = today.year if today >= date(today.year, CAPITAL_PUBLISH_MONTH, 15) else today.year - 1
    records = []
    for i, published_year in enumerate(range(latest - 4, latest + 1)):
        units = 40 + i * 5
        records.append(
            CapitalRecord(
                member_id=member_id,
                fiscal_year=published_year - 1,
                published_on=date(published_year, CAPITAL_PUBLISH_MONTH, 15),
                units=units,
                balance_yen=units * 1000,
            )
        )
    await CapitalRecord.bulk_create(records)


async def create_bulk_statements(member_ids: list[int], today: date) -> None:
    """One month of statements (8 lines) for each of these members, for benchmarks."""
    ((year, month),) = recent_months(today, 1)
    rng = random.Random(year * 100 + month)
    batch: list[StatementLine] = []
    for n, member_id in enumerate(member_ids, 1):
        batch += _month_lines(member_id, year, month, rng, count=LINES_PER_MEMBER)
        if len(batch) >= 5000 or n == len(member_ids):
            await StatementLine.bulk_create(batch)
            await announce_statements(month_totals(batch))
            batch = []
    print(f"demo: statements for {len(member_ids)} members", file=sys.stderr)
