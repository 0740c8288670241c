"""A statements file's plan: comparing its lines with the database, and writing them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server import db
from server.imports.bulk import insert_rows, params, read_dates
from server.imports.overrides import Kept
from server.imports.plan import Counts, Progress
from server.lib.batches import chunks
from server.pages.news import MonthTotal, announce_statements
from server.push.service import queue_statement_notices
from server.statements.models import StatementLine

BATCH = 20_000
TABLE = "statement_line"
INSERT_COLUMNS = (
    "member_id",
    "billing_month",
    "line_no",
    "billed_on",
    "used_on",
    "description",
    "quantity",
    "amount_yen",
)

# (line_no, billed_on, used_on, description, quantity, amount_yen)
Line = tuple[int, date, date, str, int, int]


@dataclass
class StatementsPlan:
    """The (member, month) pairs to replace and the lines to write."""

    counts: Counts
    # These files carry no field the console records: nothing is kept against them.
    kept: list[Kept] = field(default_factory=list)
    confirmed: int = 0
    replace: dict[str, list[int]] = field(default_factory=dict)  # month -> member ids
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    changed: list[MonthTotal] = field(default_factory=list)  # each changed (member, month)

    async def apply(self, conn: BaseDBAsyncClient, now: datetime, progress: Progress) -> None:
        """Delete the replaced pairs, then insert the new lines in batches."""
        for month, ids in self.replace.items():
            for part in chunks(ids):
                await (
                    StatementLine.filter(billing_month=month, member_id__in=part)
                    .using_db(conn)
                    .delete()
                )
        done, total = 0, len(self.rows)
        for batch in chunks(self.rows, BATCH):
            # Dates are already in the driver's form (see `stored_date`).
            await insert_rows(conn, TABLE, INSERT_COLUMNS, batch)
            done += len(batch)
            if total > BATCH:
                progress(f"書き込み中: {done}/{total}行", done, total)
        # Home's 新着 for the members whose newest month this is, in one statement.
        await announce_statements(self.changed)
        # A push notice (or its mail) per member and month, in this same transaction.
        if self.changed:
            await queue_statement_notices(
                [(pair.member_id, pair.month) for pair in self.changed], now
            )


async def existing_lines(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], list[Line]]:
    """The lines the database holds for these (member id, month) pairs, read raw for speed."""
    conn = db.connection()
    dates = read_dates()
    found: dict[tuple[int, str], list[Line]] = defaultdict(list)
    by_month: dict[str, list[int]] = defaultdict(list)
    for member_id, month in pairs:
        by_month[month].append(member_id)
    for month, ids in by_month.items():
        for part in chunks(sorted(ids), 900):
            sql = select_lines(params(conn, 1), params(conn, len(part), 2))
            _, rows = await conn.execute_query(sql, [month, *part])
            for member_id, line_no, billed_on, used_on, description, quantity, amount in rows:
                found[(member_id, month)].append(
                    (line_no, dates[billed_on], dates[used_on], description, quantity, amount)
                )
    return found


def select_lines(month: str, members: str) -> str:
    """The SELECT of one month's lines for some members (placeholders given)."""
    columns = "member_id, line_no, billed_on, used_on, description, quantity, amount_yen"
    where = f"billing_month = {month} AND member_id IN ({members})"
    return f"SELECT {columns} FROM {TABLE} WHERE {where}"  # noqa: S608 - placeholders only


async def months_with_data(months: list[str]) -> set[tuple[int, str]]:
    """The (member id, month) pairs that have lines in any of these months."""
    conn = db.connection()
    found: set[tuple[int, str]] = set()
    for part in chunks(months, 900):
        sql = (
            f"SELECT DISTINCT member_id, billing_month FROM {TABLE} "  # noqa: S608 - placeholders
            f"WHERE billing_month IN ({params(conn, len(part))})"
        )
        _, rows = await conn.execute_query(sql, part)
        found.update((member_id, month) for member_id, month in rows)
    return found
