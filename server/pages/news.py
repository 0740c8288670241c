"""Home's 「新着」: what is new for the signed-in member, until opened or too old.

An item shows while it is younger than `home_news_days` and the member has not
opened its page since it happened: the statement's month page, the inquiry's
page, or /profile/change for an applied or returned change. Opening a page
calls `mark_seen`; a later event on the same item (another reply) shows it again.

The rows (`HomeNews`) are written when the item happens, in the transaction of
the event, so home reads one indexed set of rows per request: one query, no
aggregate, no join. Before, home asked four queries (the newest month's total,
answered inquiries, finished change requests, the seen marks), three quarters
of its CPU (`.venv/bin/python bench/card_cpu_bench.py --repeats 8`, bench/RESULTS.md).

Each process keeps a member's unseen rows for MYPAGE_SESSION_CACHE_SECONDS
(5 s), like the member's session: on SQLite even that one query is the
most of home's CPU (its hand-off to aiosqlite's thread and back), and home is
where a member comes back to between pages. Every writer here (`mark_seen`,
the `announce_*` functions) drops the member's copy in its own process at
once, so a member who opens a statement never finds it still new on home
in that process; a row written by another process (the worker's import,
another web worker) shows within those seconds. Measured in
bench/RESULTS.md (`bench/card_speed_bench.py --pages-only`, 2026-12-05).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from server import db
from server.lib.clock import JST
from server.lib.ttl_cache import TtlCache
from server.members.access import Viewer, first_statement_month
from server.pages.models import HomeNews
from server.requests.models import ChangeState
from server.statements.models import StatementLine
from server.statements.service import month_label

STATEMENT, INQUIRY, CHANGE = "statement", "inquiry", "change"
STATEMENT_TEXT = "新しい明細があります"
INQUIRY_TEXT = "お問い合わせに回答があります"
CHANGE_TEXTS = {
    ChangeState.APPLIED: "登録内容の変更を反映しました",
    ChangeState.RETURNED: "登録内容の変更申請について、生協からのご連絡があります",
}
# What a later event on an item rewrites; seen_at goes back to NULL (shown again).
_REWRITTEN = ("text", "detail", "href", "at", "seen_at")
_KEY = ("member_id", "kind", "ref")
# Each member's unseen rows as last read in this process (see above).
_UNSEEN_ROWS = TtlCache()


@dataclass(frozen=True)
class NewsItem:
    """One line of home's 新着: what happened, a link to it, and when."""

    kind: str
    text: str
    href: str
    at: datetime
    detail: str = ""


# Home's read, the one query of every signed-in home view, written out: the
# same query built by Tortoise (`HomeNews.filter(...).order_by("-at")
# .values_list(...)`) cost ~250 µs of CPU in the ORM against ~35 µs for the
# database round trip (in process, SQLite, demo member;
# `.venv/bin/python bench/card_cpu_bench.py --repeats 8`, bench/RESULTS.md).
_UNSEEN = (
    'SELECT kind, ref, text, href, "at", detail FROM home_news'
    ' WHERE member_id = {} AND seen_at IS NULL AND "at" >= {} ORDER BY "at" DESC'
)
_UNSEEN_SQLITE = _UNSEEN.format("?", "?")
_UNSEEN_POSTGRES = _UNSEEN.format("$1", "$2")


async def _unseen(
    member_id: int, since: datetime
) -> list[tuple[str, str, str, str, datetime, str]]:
    """The member's unseen rows since `since`, newest first: kind, ref, text, href, at, detail."""
    conn = db.connection()
    if db.speaks_postgres(conn):
        _, rows = await conn.execute_query(_UNSEEN_POSTGRES, [member_id, since])
        return [tuple(row) for row in rows]
    # SQLite compares the text Tortoise stores: UTC, "2026-11-28 05:00:00+00:00".
    _, rows = await conn.execute_query(
        _UNSEEN_SQLITE, [member_id, since.astimezone(UTC).isoformat(" ")]
    )
    return [
        (kind, ref, text, href, datetime.fromisoformat(at), detail)
        for kind, ref, text, href, at, detail in rows
    ]


def cache_home_news(seconds: float) -> None:
    """Keep each member's unseen rows this many seconds in this process (0: never)."""
    _UNSEEN_ROWS.keep_for(seconds)


async def home_news(viewer: Viewer, now: datetime, days: int) -> list[NewsItem]:
    """The member's own new items, newest first (never another member's): one query at most."""
    since = now - timedelta(days=days)
    kept = await _UNSEEN_ROWS.get_or_load(
        viewer.member_id, lambda: _unseen(viewer.member_id, since)
    )
    # A kept copy may hold rows that have aged out since it was read.
    rows = [row for row in kept if row[4] >= since]
    # Only the newest month the member may see is news (a re-registered member
    # sees no statement from before the registration).
    first = first_statement_month(viewer)
    months = [ref for kind, ref, *_ in rows if kind == STATEMENT and ref >= first]
    newest = max(months, default=None)
    return [
        NewsItem(kind, text, href, at, detail)
        for kind, ref, text, href, at, detail in rows
        if kind != STATEMENT or ref == newest
    ]


async def mark_seen(member_id: int, kind: str, refs: list[str] | None, now: datetime) -> None:
    """Record that the member opened these items; refs None: every item of that kind.

    A statement month opened settles the older months too: only the newest
    month is ever announced, and an older one must not take its place.
    """
    rows = HomeNews.filter(member_id=member_id, kind=kind, seen_at=None)
    if refs is not None and kind == STATEMENT:
        rows = rows.filter(ref__lte=max(refs, default=""))
    elif refs is not None:
        rows = rows.filter(ref__in=refs)
    await rows.update(seen_at=now)
    _UNSEEN_ROWS.pop(member_id)  # this process's next home reads them afresh


async def _announce(
    member_id: int, kind: str, ref: str, text: str, href: str, at: datetime, detail: str = ""
) -> None:
    """Insert the item's row, or rewrite it and show it again (one upsert statement)."""
    item = HomeNews(
        member_id=member_id,
        kind=kind,
        ref=ref,
        text=text,
        detail=detail,
        href=href,
        at=at,
        seen_at=None,
    )
    await HomeNews.bulk_create([item], on_conflict=_KEY, update_fields=_REWRITTEN)
    _UNSEEN_ROWS.pop(member_id)  # this process's next home reads them afresh


async def announce_answer(member_id: int, inquiry_id: int, receipt_no: str, at: datetime) -> None:
    """An inquiry was answered: call it in the transaction that stores the answer."""
    ref = str(inquiry_id)
    await _announce(
        member_id, INQUIRY, ref, INQUIRY_TEXT, f"/inquiries/{ref}", at, f"受付番号 {receipt_no}"
    )


async def announce_change(member_id: int, change_id: int, state: ChangeState, at: datetime) -> None:
    """A change request was applied or sent back: call it in that transaction."""
    text = CHANGE_TEXTS.get(state)
    if text is not None:  # received or processing: nothing for home
        await _announce(member_id, CHANGE, str(change_id), text, "/profile/change", at)


class MonthTotal(NamedTuple):
    """One (member, month) statement as written: its billing date and total."""

    member_id: int
    month: str
    billed_on: date
    total: int


def month_totals(lines: Iterable[StatementLine]) -> list[MonthTotal]:
    """The (member, month) totals of these lines (for writers that hold ORM rows)."""
    found: dict[tuple[int, str], MonthTotal] = {}
    for line in lines:
        key = (line.member_id, line.billing_month)  # type: ignore[attr-defined]
        old = found.get(key)
        total = line.amount_yen + (old.total if old else 0)
        found[key] = MonthTotal(*key, line.billed_on, total)
    return list(found.values())


# A row for each month written that is the member's newest month: a corrected
# month is announced again, an older month written later is not. SQLite runs
# it once per month through executemany (as the import writes its lines);
# PostgreSQL once for all, from arrays. The totals come from the writer, which
# holds the lines: summing them again in the database (INSERT ... SELECT ...
# GROUP BY over the lines) cost ~320 ms for 30,000 members against ~120 ms for
# this (bench/import_bench.py, bench/RESULTS.md).
_STATEMENT_SQLITE = """
INSERT INTO home_news (member_id, kind, ref, text, detail, href, "at", seen_at)
SELECT ?1, ?2, ?3, ?4, ?5, '/statements/' || ?3, ?6, NULL
WHERE ?3 = (
    SELECT n.billing_month FROM statement_line AS n WHERE n.member_id = ?1
    ORDER BY n.billing_month DESC LIMIT 1
)
ON CONFLICT (member_id, kind, ref) DO UPDATE SET
    text = excluded.text, detail = excluded.detail, href = excluded.href,
    "at" = excluded."at", seen_at = NULL
"""
_STATEMENT_POSTGRES = """
INSERT INTO home_news (member_id, kind, ref, text, detail, href, "at", seen_at)
SELECT c.member_id, $1, c.month, $2, c.detail, '/statements/' || c.month, c.at, NULL
FROM unnest($3::bigint[], $4::text[], $5::text[], $6::timestamptz[])
     AS c(member_id, month, detail, at)
WHERE c.month = (
    SELECT n.billing_month FROM statement_line AS n WHERE n.member_id = c.member_id
    ORDER BY n.billing_month DESC LIMIT 1
)
ON CONFLICT (member_id, kind, ref) DO UPDATE SET
    text = excluded.text, detail = excluded.detail, href = excluded.href,
    "at" = excluded."at", seen_at = NULL
"""


async def announce_statements(written: Iterable[MonthTotal]) -> None:
    """Statement lines were written for these months: announce each member's newest one.

    Call it in the transaction that writes the lines (an import, the demo
    data, the test factory), once for all of them: never a query per member.
    """
    months = {(m.member_id, m.month): m for m in written}
    if not months:
        return
    labels: dict[str, str] = {}
    starts: dict[date, datetime] = {}
    rows = []
    for m in months.values():
        label = labels.get(m.month) or labels.setdefault(m.month, month_label(m.month))
        at = starts.get(m.billed_on)
        if at is None:
            # Statements carry no import time: the billing day, begun in Japan.
            at = starts[m.billed_on] = datetime.combine(m.billed_on, time(0), JST).astimezone(UTC)
        rows.append((m.member_id, m.month, f"{label}分　ご請求額 {m.total:,}円", at))
    conn = db.connection()
    if db.speaks_postgres(conn):
        columns = [list(column) for column in zip(*rows, strict=True)]
        await conn.execute_query(_STATEMENT_POSTGRES, [STATEMENT, STATEMENT_TEXT, *columns])
    else:
        # The text form Tortoise stores, so home's comparison of `at` holds.
        stamps = {at: at.isoformat(" ") for at in starts.values()}
        await conn.execute_many(
            _STATEMENT_SQLITE,
            [
                [member_id, STATEMENT, month, STATEMENT_TEXT, detail, stamps[at]]
                for member_id, month, detail, at in rows
            ],
        )
    _UNSEEN_ROWS.clear()  # every member's next home in this process reads afresh
