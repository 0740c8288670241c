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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server import db
from server.members.access import Viewer, first_statement_month
from server.pages.models import HomeNews
from server.requests.models import ChangeState

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


async def home_news(viewer: Viewer, now: datetime, days: int) -> list[NewsItem]:
    """The member's own new items, newest first (never another member's): one query."""
    rows = await _unseen(viewer.member_id, now - timedelta(days=days))
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


async def _announce(item: HomeNews) -> None:
    """Insert the item's row, or rewrite it and show it again (one upsert statement)."""
    await HomeNews.bulk_create([item], on_conflict=_KEY, update_fields=_REWRITTEN)


async def announce_answer(member_id: int, inquiry_id: int, receipt_no: str, at: datetime) -> None:
    """An inquiry was answered: call it in the transaction that stores the answer."""
    await _announce(
        HomeNews(
            member_id=member_id,
            kind=INQUIRY,
            ref=str(inquiry_id),
            text=INQUIRY_TEXT,
            detail=f"受付番号 {receipt_no}",
            href=f"/inquiries/{inquiry_id}",
            at=at,
            seen_at=None,
        )
    )


async def announce_change(member_id: int, change_id: int, state: ChangeState, at: datetime) -> None:
    """A change request was applied or sent back: call it in that transaction."""
    text = CHANGE_TEXTS.get(state)
    if text is None:
        return  # received or processing: nothing for home
    await _announce(
        HomeNews(
            member_id=member_id,
            kind=CHANGE,
            ref=str(change_id),
            text=text,
            detail="",
            href="/profile/change",
            at=at,
            seen_at=None,
        )
    )


# One row per member whose newest month is among the (member, month) pairs
# written: the month's total and billing date, summed by the database in one
# statement (no query per member). Statements carry no import time: the start
# of the billing day in Japan is when they happened, as members were always told.
_STATEMENTS_INSERT = """
INSERT INTO home_news (member_id, kind, ref, text, detail, href, "at", seen_at)
SELECT l.member_id, {kind}, l.billing_month, {text},
       CAST(CAST(substr(l.billing_month, 1, 4) AS INTEGER) AS TEXT) || '年'
         || CAST(CAST(substr(l.billing_month, 6, 2) AS INTEGER) AS TEXT) || '月分　ご請求額 '
         || {yen} || '円',
       '/statements/' || l.billing_month, {at}, NULL
FROM {pairs}
JOIN statement_line AS l ON l.member_id = c.member_id AND l.billing_month = c.month
WHERE l.billing_month = (
    SELECT MAX(n.billing_month) FROM statement_line AS n WHERE n.member_id = l.member_id
)
GROUP BY l.member_id, l.billing_month
ON CONFLICT (member_id, kind, ref) DO UPDATE SET
    text = excluded.text, detail = excluded.detail, href = excluded.href,
    "at" = excluded."at", seen_at = NULL
"""
_STATEMENTS_SQLITE = _STATEMENTS_INSERT.format(
    kind="?",
    text="?",
    yen="printf('%,d', SUM(l.amount_yen))",
    at="datetime(MAX(l.billed_on), '-9 hours') || '+00:00'",  # Tortoise's UTC text form
    pairs=(
        "(SELECT json_extract(value, '$[0]') AS member_id, json_extract(value, '$[1]') AS month"
        " FROM json_each(?)) AS c"
    ),
)
_STATEMENTS_POSTGRES = _STATEMENTS_INSERT.format(
    kind="$1::text",
    text="$2::text",
    yen="to_char(SUM(l.amount_yen), 'FM999,999,999,999,990')",
    at="MAX(l.billed_on)::timestamp AT TIME ZONE 'Asia/Tokyo'",
    pairs="unnest($3::bigint[], $4::text[]) AS c(member_id, month)",
)


async def announce_statements(member_months: Iterable[tuple[int, str]]) -> None:
    """Statement lines were written for these (member id, month) pairs: announce new months.

    Call it in the transaction that writes the lines (an import, the demo data).
    A member's row is written only when the pair is their newest month; a
    corrected month is announced again, an older month written later is not.
    """
    pairs = sorted(set(member_months))
    if not pairs:
        return
    conn = db.connection()
    if db.speaks_postgres(conn):
        ids, months = [member_id for member_id, _ in pairs], [month for _, month in pairs]
        await conn.execute_query(_STATEMENTS_POSTGRES, [STATEMENT, STATEMENT_TEXT, ids, months])
        return
    await conn.execute_query(_STATEMENTS_SQLITE, [STATEMENT, STATEMENT_TEXT, json.dumps(pairs)])
