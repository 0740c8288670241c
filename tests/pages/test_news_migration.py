"""pages 0002: home_news is filled from what the database held, seen marks included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tortoise.migrations.api import migrate as migrate_api

from server import db
from server.imports.bulk import params
from server.inquiries.models import Inquiry, InquiryCategory, InquiryState
from server.pages.models import HomeNews
from server.requests.models import ChangeGroup, ChangeRequest, ChangeState
from server.statements.models import StatementLine
from tests.factories import make_member

ANSWERED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


async def _line(member_id: int, month: str, line_no: int, amount: int) -> None:
    year, number = int(month[:4]), int(month[5:])
    await StatementLine.create(
        member_id=member_id,
        billing_month=month,
        billed_on=date(year, number, 16),
        line_no=line_no,
        used_on=date(year, number, 2),
        description="文具",
        quantity=1,
        amount_yen=amount,
    )


async def _inquiry(member_id: int, receipt: str) -> Inquiry:
    return await Inquiry.create(
        receipt_no=receipt,
        member_id=member_id,
        category=InquiryCategory.OTHER,
        message="ハガキの明細について教えてください。",
        state=InquiryState.ANSWERED,
        created_at=ANSWERED - timedelta(days=1),
        answered_at=ANSWERED,
    )


async def _seen(member_id: int, kind: str, ref: str, at: datetime) -> None:
    conn = db.connection()
    stamp = at if db.speaks_postgres(conn) else at.isoformat(" ")
    await conn.execute_query(
        f"INSERT INTO home_seen (member_id, kind, ref, seen_at) VALUES ({params(conn, 4)})",
        [member_id, kind, ref, stamp],
    )


async def test_migration_fills_home_news_and_keeps_the_seen_marks(db_url) -> None:
    await migrate_api(config=db.tortoise_config(db_url), target="pages.0001_initial")
    await db.close_db()
    await db.init_db(db_url)
    try:
        hanako = await make_member()
        taro = await make_member()
        await _line(hanako.id, "2026-10", 1, 500)
        await _line(hanako.id, "2026-11", 1, 1_200_000)
        await _line(hanako.id, "2026-11", 2, 800)
        await _line(taro.id, "2026-11", 1, -1_234)
        opened = await _inquiry(hanako.id, "R-OPENED")
        waiting = await _inquiry(hanako.id, "R-WAITING")
        answered_again = await _inquiry(hanako.id, "R-AGAIN")
        change = await ChangeRequest.create(
            member_id=hanako.id,
            group=ChangeGroup.ADDRESS,
            state=ChangeState.APPLIED,
            submitted_at=ANSWERED,
            expected_on=date(2026, 11, 25),
            updated_at=ANSWERED,
        )
        await _seen(hanako.id, "inquiry", str(opened.id), ANSWERED + timedelta(hours=1))
        # Opened before the latest answer: the answer is still new.
        await _seen(hanako.id, "inquiry", str(answered_again.id), ANSWERED - timedelta(hours=1))
        await _seen(hanako.id, "statement", "2026-11", ANSWERED)
    finally:
        await db.close_db()

    await db.migrate(db_url)
    await db.init_db(db_url)
    try:
        found = await HomeNews.all().values_list(
            "member_id", "kind", "ref", "text", "detail", "href", "seen_at"
        )
        rows = {(row[0], row[1], row[2]): row[3:] for row in found}
        assert rows[(hanako.id, "statement", "2026-11")] == (
            "新しい明細があります",
            "2026年11月分　ご請求額 1,200,800円",
            "/statements/2026-11",
            ANSWERED,
        )
        assert (hanako.id, "statement", "2026-10") not in rows  # only the newest month
        assert rows[(taro.id, "statement", "2026-11")][1:3] == (
            "2026年11月分　ご請求額 -1,234円",
            "/statements/2026-11",
        )
        assert rows[(taro.id, "statement", "2026-11")][3] is None
        assert rows[(hanako.id, "inquiry", str(opened.id))][3] == ANSWERED + timedelta(hours=1)
        assert rows[(hanako.id, "inquiry", str(waiting.id))] == (
            "お問い合わせに回答があります",
            "受付番号 R-WAITING",
            f"/inquiries/{waiting.id}",
            None,
        )
        assert rows[(hanako.id, "inquiry", str(answered_again.id))][3] is None
        assert rows[(hanako.id, "change", str(change.id))] == (
            "登録内容の変更を反映しました",
            "",
            "/profile/change",
            None,
        )
        (at,) = await HomeNews.filter(kind="statement", member_id=hanako.id).values_list(
            "at", flat=True
        )
        assert at == datetime(2026, 11, 15, 15, 0, tzinfo=UTC)  # the billing day began in Japan
        assert len(rows) == 6
    finally:
        await db.close_db()
