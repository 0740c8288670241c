"""Paper statements over HTTP: the list with the fee, the formula-safe CSV, the audit."""

from __future__ import annotations

import csv
import io

from quart import Quart

from server.audit.models import AuditEvent
from server.audit.service import Actor
from server.config import Settings
from server.lib.clock import FrozenClock
from server.requests.stop import stop_service
from tests.factories import make_account, make_member
from tests.helpers import page
from tests.staff.helpers import signed_in_staff


async def stopped(settings: Settings, clock: FrozenClock, **member_fields: str) -> None:
    """A member who stopped My Page from its own page, so statements go by post."""
    account = await make_account(await make_member(**member_fields))
    await stop_service(account, True, settings, clock(), Actor(kind="member"))


async def test_stopped_members_are_listed_with_the_fee_per_issue(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    await stopped(settings, clock, member_no="20000002", name="前橋 次郎")
    await stopped(settings, clock, member_no="20000001", name="高崎 一子")
    await make_account(await make_member(member_no="20000003", name="使用中 三郎"))
    client, staff, _ = await signed_in_staff(app)
    status, html = await page(client, "/staff/paper")
    assert status == 200
    table = html.split("paper-members", 1)[1].split("</table>", 1)[0]
    assert table.index("20000001") < table.index("20000002")  # by member number
    assert "高崎 一子" in table and "前橋 次郎" in table and "使用中 三郎" not in html
    assert "100円" in table
    assert "合計（2人）" in table and "200円" in table
    assert "税込 110円" in html and "税込 220円" in html
    assert 'href="/staff/paper/export.csv"' in html
    assert 'href="/staff/paper" aria-current="page"' in html
    event = await AuditEvent.get(event="staff:paper:view")
    assert event.staff_id == staff.id and event.data == {"members": 2}


async def test_the_fee_is_the_setting(db_url: str, tmp_path, clock: FrozenClock, mailbox) -> None:
    from server.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        db_url, tmp_path, smtp_host=mailbox.host, smtp_port=mailbox.port, paper_fee_yen=150
    )
    app = create_app(settings, clock=clock)
    async with app.test_app():
        await stopped(settings, clock)
        client, _, _ = await signed_in_staff(app)
        _, html = await page(client, "/staff/paper")
    assert "150円" in html and "税込 165円" in html


async def test_csv_has_bom_japanese_header_and_disarmed_formulas(
    app: Quart, settings: Settings, clock: FrozenClock
) -> None:
    await stopped(
        settings, clock, member_no="20000001", name='=HYPERLINK("http://evil.example","x")'
    )
    await stopped(settings, clock, member_no="20000002", name="伊勢崎 花", address="@SUM(1+1)")
    client, staff, _ = await signed_in_staff(app)
    response = await client.get("/staff/paper/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="paper-statements-20261128.csv"'
    )
    assert "no-store" in response.headers["Cache-Control"]
    body = await response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
    assert rows[0] == [
        "組合員番号",
        "氏名",
        "郵便番号",
        "住所",
        "サービス停止日",
        "手数料（1回・税抜・円）",
        "手数料（1回・税込・円）",
    ]
    assert rows[1][:2] == ["20000001", '\'=HYPERLINK("http://evil.example","x")']
    assert rows[1][4:] == ["2026-11-28", "100", "110"]
    assert rows[2][1] == "伊勢崎 花" and rows[2][3] == "'@SUM(1+1)"
    assert len(rows) == 3
    assert b"\r\n" in body
    event = await AuditEvent.get(event="staff:paper:export")
    assert event.staff_id == staff.id and event.data == {"members": 2}


async def test_empty_list_says_so(app: Quart) -> None:
    client, _, _ = await signed_in_staff(app, role="operator")
    status, html = await page(client, "/staff/paper")
    assert status == 200 and "紙のご請求明細を受け取る組合員はいません。" in html
    body = await (await client.get("/staff/paper/export.csv")).get_data()
    assert body.decode("utf-8-sig").splitlines()[0].startswith("組合員番号,氏名")
